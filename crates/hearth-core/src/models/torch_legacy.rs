//! Reads PyTorch's legacy (pre-zip) `torch.save` files without executing pickle code, and
//! writes their tensors as safetensors.
//!
//! A legacy file is five pickles (magic number, protocol version, system info, the object,
//! the storage keys) followed by each storage's raw bytes. Pickle is a small stack machine
//! whose `GLOBAL` + `REDUCE` opcodes can call any Python function; this reader runs the stack
//! machine itself and knows exactly three callables — `collections.OrderedDict`,
//! `torch._utils._rebuild_tensor_v2` and the `torch.*Storage` types — so a file that names
//! anything else (`os.system`, say) is refused with an error, never run.

use std::collections::{BTreeMap, HashMap};

use super::bytes::Reader;
use crate::error::{Error, Result};

/// The magic number `torch.save` writes first in the legacy format.
const MAGIC: u128 = 0x1950_a86a_20f9_469c_fc6c;
const PROTOCOL_VERSION: i64 = 1001;
/// Bounds that keep a hostile file from exhausting memory.
const MAX_STACK: usize = 100_000;
const MAX_MEMO: usize = 1_000_000;
const MAX_TENSOR_RANK: usize = 8;

/// Element types a storage can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    F64,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl DType {
    fn from_storage(name: &str) -> Option<Self> {
        Some(match name {
            "FloatStorage" => Self::F32,
            "DoubleStorage" => Self::F64,
            "HalfStorage" => Self::F16,
            "BFloat16Storage" => Self::BF16,
            "LongStorage" => Self::I64,
            "IntStorage" => Self::I32,
            "ShortStorage" => Self::I16,
            "CharStorage" => Self::I8,
            "ByteStorage" => Self::U8,
            "BoolStorage" => Self::Bool,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            Self::F64 | Self::I64 => 8,
            Self::F32 | Self::I32 => 4,
            Self::F16 | Self::BF16 | Self::I16 => 2,
            Self::I8 | Self::U8 | Self::Bool => 1,
        }
    }

    fn safetensors(self) -> safetensors::Dtype {
        match self {
            Self::F32 => safetensors::Dtype::F32,
            Self::F64 => safetensors::Dtype::F64,
            Self::F16 => safetensors::Dtype::F16,
            Self::BF16 => safetensors::Dtype::BF16,
            Self::I64 => safetensors::Dtype::I64,
            Self::I32 => safetensors::Dtype::I32,
            Self::I16 => safetensors::Dtype::I16,
            Self::I8 => safetensors::Dtype::I8,
            Self::U8 => safetensors::Dtype::U8,
            Self::Bool => safetensors::Dtype::BOOL,
        }
    }
}

/// One tensor: its element type, shape and little-endian bytes in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

/// The callables a legacy checkpoint may name; anything else is refused.
#[derive(Debug, Clone, PartialEq)]
enum Callable {
    OrderedDict,
    RebuildTensor,
    Storage(DType),
}

/// A tensor as the pickle describes it, before the storages are read.
#[derive(Debug, Clone, PartialEq)]
struct TensorRef {
    storage_key: String,
    /// Elements in the whole storage, as its persistent id declared.
    storage_elements: usize,
    dtype: DType,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Callable(Callable),
    /// A storage named by a persistent id: its key, element type and element count.
    Storage {
        key: String,
        dtype: DType,
        elements: usize,
    },
    Tensor(TensorRef),
    Mark,
}

fn refused(message: impl Into<String>) -> Error {
    Error::invalid(format!("not a PyTorch checkpoint this reader accepts: {}", message.into()))
}

fn callable(module: &str, name: &str) -> Result<Callable> {
    match (module, name) {
        ("collections", "OrderedDict") => Ok(Callable::OrderedDict),
        ("torch._utils", "_rebuild_tensor_v2") => Ok(Callable::RebuildTensor),
        ("torch", storage) => DType::from_storage(storage)
            .map(Callable::Storage)
            .ok_or_else(|| refused(format!("it names torch.{storage}, which is not a tensor storage"))),
        _ => Err(refused(format!("it asks to call {module}.{name}; only tensor-rebuild calls are allowed"))),
    }
}

fn as_usize(value: &Value, what: &str) -> Result<usize> {
    match value {
        Value::Int(number) => usize::try_from(*number).map_err(|_| refused(format!("{what} is negative"))),
        _ => Err(refused(format!("{what} is not an integer"))),
    }
}

fn as_usizes(value: &Value, what: &str) -> Result<Vec<usize>> {
    match value {
        Value::Tuple(items) if items.len() <= MAX_TENSOR_RANK => {
            items.iter().map(|item| as_usize(item, what)).collect()
        }
        _ => Err(refused(format!("{what} is not a tuple of at most {MAX_TENSOR_RANK} integers"))),
    }
}

/// `callable(*args)`, for the three callables there are.
fn reduce(callable: &Callable, args: Vec<Value>) -> Result<Value> {
    match callable {
        Callable::OrderedDict if args.is_empty() => Ok(Value::Dict(Vec::new())),
        Callable::RebuildTensor if (6..=7).contains(&args.len()) => {
            let Value::Storage { key, dtype, elements } = &args[0] else {
                return Err(refused("a tensor is rebuilt from something other than a storage"));
            };
            let offset = as_usize(&args[1], "a tensor's storage offset")?;
            let shape = as_usizes(&args[2], "a tensor's size")?;
            let stride = as_usizes(&args[3], "a tensor's stride")?;
            if shape.len() != stride.len() {
                return Err(refused("a tensor's size and stride differ in length"));
            }
            // The furthest element the view touches must lie inside the storage.
            let mut last = offset;
            for (&size, &step) in shape.iter().zip(&stride) {
                if size == 0 {
                    last = offset;
                    break;
                }
                last = (size - 1)
                    .checked_mul(step)
                    .and_then(|reach| last.checked_add(reach))
                    .ok_or_else(|| refused("a tensor's extent overflows"))?;
            }
            let count = shape.iter().try_fold(1_usize, |product, &size| product.checked_mul(size));
            if count.is_none() || (count != Some(0) && last >= *elements) {
                return Err(refused(format!("a tensor reaches past the end of its storage ({elements} elements)")));
            }
            Ok(Value::Tensor(TensorRef {
                storage_key: key.clone(),
                storage_elements: *elements,
                dtype: *dtype,
                offset,
                shape,
                stride,
            }))
        }
        Callable::Storage(_) => Err(refused("a storage type is called directly")),
        _ => Err(refused("a known callable is called with unexpected arguments")),
    }
}

/// Runs one pickle to its STOP and returns the value it built.
fn unpickle(reader: &mut Reader<'_, Error>) -> Result<Value> {
    let mut stack: Vec<Value> = Vec::new();
    let mut memo: HashMap<u32, Value> = HashMap::new();
    let pop = |stack: &mut Vec<Value>| stack.pop().ok_or_else(|| refused("the pickle stack underflows"));
    let pop_mark = |stack: &mut Vec<Value>| -> Result<Vec<Value>> {
        let mark = stack.iter().rposition(|value| *value == Value::Mark).ok_or_else(|| refused("no MARK"))?;
        let items = stack.split_off(mark + 1);
        stack.pop();
        Ok(items)
    };
    loop {
        if stack.len() > MAX_STACK || memo.len() > MAX_MEMO {
            return Err(refused("the pickle is too deep"));
        }
        let opcode = reader.byte()?;
        match opcode {
            0x80 => {
                let protocol = reader.byte()?;
                if protocol > 5 {
                    return Err(refused(format!("pickle protocol {protocol}")));
                }
            }
            b'.' => return pop(&mut stack),
            b'(' => stack.push(Value::Mark),
            b'N' => stack.push(Value::None),
            0x88 => stack.push(Value::Bool(true)),
            0x89 => stack.push(Value::Bool(false)),
            b'K' => stack.push(Value::Int(i64::from(reader.byte()?))),
            b'M' => stack.push(Value::Int(i64::from(reader.u16()?))),
            b'J' => stack.push(Value::Int(i64::from(reader.i32()?))),
            0x8a => {
                let length = usize::from(reader.byte()?);
                let bytes = reader.take(length)?;
                if length > 16 {
                    return Err(refused("an integer is too long"));
                }
                let mut value: i128 = 0;
                for (index, byte) in bytes.iter().enumerate() {
                    value |= i128::from(*byte) << (8 * index);
                }
                if length > 0 && bytes[length - 1] & 0x80 != 0 && length < 16 {
                    value -= 1_i128 << (8 * length);
                }
                // Only the magic number is wider than 64 bits.
                if u128::try_from(value).is_ok_and(|value| value == MAGIC) {
                    stack.push(Value::Text("<magic>".to_owned()));
                } else {
                    stack.push(Value::Int(i64::try_from(value).map_err(|_| refused("an integer is out of range"))?));
                }
            }
            b'G' => {
                let bytes: [u8; 8] = reader.take(8)?.try_into().unwrap_or_default();
                stack.push(Value::Float(f64::from_be_bytes(bytes)));
            }
            b'X' => {
                let length = reader.u32()? as usize;
                let text = reader.text(length)?;
                stack.push(Value::Text(text));
            }
            0x8c => {
                let length = usize::from(reader.byte()?);
                let text = reader.text(length)?;
                stack.push(Value::Text(text));
            }
            b')' => stack.push(Value::Tuple(Vec::new())),
            0x85 => {
                let first = pop(&mut stack)?;
                stack.push(Value::Tuple(vec![first]));
            }
            0x86 => {
                let second = pop(&mut stack)?;
                let first = pop(&mut stack)?;
                stack.push(Value::Tuple(vec![first, second]));
            }
            0x87 => {
                let third = pop(&mut stack)?;
                let second = pop(&mut stack)?;
                let first = pop(&mut stack)?;
                stack.push(Value::Tuple(vec![first, second, third]));
            }
            b't' => {
                let items = pop_mark(&mut stack)?;
                stack.push(Value::Tuple(items));
            }
            b']' => stack.push(Value::List(Vec::new())),
            b'}' => stack.push(Value::Dict(Vec::new())),
            b'a' => {
                let item = pop(&mut stack)?;
                match stack.last_mut() {
                    Some(Value::List(list)) => list.push(item),
                    _ => return Err(refused("APPEND to something other than a list")),
                }
            }
            b'e' => {
                let items = pop_mark(&mut stack)?;
                match stack.last_mut() {
                    Some(Value::List(list)) => list.extend(items),
                    _ => return Err(refused("APPENDS to something other than a list")),
                }
            }
            b's' => {
                let value = pop(&mut stack)?;
                let key = pop(&mut stack)?;
                match stack.last_mut() {
                    Some(Value::Dict(entries)) => entries.push((key, value)),
                    _ => return Err(refused("SETITEM on something other than a dict")),
                }
            }
            b'u' => {
                let items = pop_mark(&mut stack)?;
                if items.len() % 2 != 0 {
                    return Err(refused("SETITEMS with an odd number of items"));
                }
                let Some(Value::Dict(entries)) = stack.last_mut() else {
                    return Err(refused("SETITEMS on something other than a dict"));
                };
                let mut items = items.into_iter();
                while let (Some(key), Some(value)) = (items.next(), items.next()) {
                    entries.push((key, value));
                }
            }
            b'q' => {
                let index = u32::from(reader.byte()?);
                memo.insert(index, stack.last().cloned().ok_or_else(|| refused("BINPUT on an empty stack"))?);
            }
            b'r' => {
                let index = reader.u32()?;
                memo.insert(index, stack.last().cloned().ok_or_else(|| refused("LONG_BINPUT on an empty stack"))?);
            }
            0x94 => {
                let index = u32::try_from(memo.len()).map_err(|_| refused("the memo is full"))?;
                memo.insert(index, stack.last().cloned().ok_or_else(|| refused("MEMOIZE on an empty stack"))?);
            }
            b'h' => {
                let index = u32::from(reader.byte()?);
                stack.push(memo.get(&index).cloned().ok_or_else(|| refused("BINGET of an unset memo slot"))?);
            }
            b'j' => {
                let index = reader.u32()?;
                stack.push(memo.get(&index).cloned().ok_or_else(|| refused("LONG_BINGET of an unset memo slot"))?);
            }
            b'c' => {
                let module = reader.line("a GLOBAL name")?.to_owned();
                let name = reader.line("a GLOBAL name")?.to_owned();
                stack.push(Value::Callable(callable(&module, &name)?));
            }
            0x93 => {
                let name = pop(&mut stack)?;
                let module = pop(&mut stack)?;
                let (Value::Text(module), Value::Text(name)) = (module, name) else {
                    return Err(refused("STACK_GLOBAL without two strings"));
                };
                stack.push(Value::Callable(callable(&module, &name)?));
            }
            b'R' => {
                let args = pop(&mut stack)?;
                let function = pop(&mut stack)?;
                let (Value::Callable(function), Value::Tuple(args)) = (function, args) else {
                    return Err(refused("REDUCE of something that is not an allowed call"));
                };
                stack.push(reduce(&function, args)?);
            }
            b'Q' => {
                let id = pop(&mut stack)?;
                stack.push(storage_from_persistent_id(id)?);
            }
            b'b' => {
                // BUILD sets attributes; the only object allowed to take them is an ordered dict
                // (its `_metadata`), and they are dropped: they carry no tensor data.
                let state = pop(&mut stack)?;
                match (stack.last(), state) {
                    (Some(Value::Dict(_)), Value::Dict(_) | Value::None) => {}
                    _ => return Err(refused("BUILD on something other than an ordered dict")),
                }
            }
            other => return Err(refused(format!("pickle opcode 0x{other:02x} at offset {}", reader.at - 1))),
        }
    }
}

/// `('storage', torch.FloatStorage, key, location, elements[, view])` → a storage.
fn storage_from_persistent_id(id: Value) -> Result<Value> {
    let Value::Tuple(parts) = id else { return Err(refused("a persistent id is not a tuple")) };
    match parts.as_slice() {
        [Value::Text(kind), Value::Callable(Callable::Storage(dtype)), Value::Text(key), Value::Text(_), elements, ..]
            if kind == "storage" && parts.len() <= 6 =>
        {
            Ok(Value::Storage { key: key.clone(), dtype: *dtype, elements: as_usize(elements, "a storage's size")? })
        }
        _ => Err(refused("a persistent id that is not a tensor storage")),
    }
}

/// Reads a legacy `torch.save` file holding a (possibly nested) dict of tensors, such as a
/// state dict. Tensor names are the dict keys, joined with `.` where dicts nest.
pub fn read(bytes: &[u8]) -> Result<BTreeMap<String, Tensor>> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(refused("it is the newer zip format (candle reads that directly)"));
    }
    let mut reader = Reader::new(bytes, refused);
    if unpickle(&mut reader)? != Value::Text("<magic>".to_owned()) {
        return Err(refused("it does not start with torch.save's magic number"));
    }
    if unpickle(&mut reader)? != Value::Int(PROTOCOL_VERSION) {
        return Err(refused("an unknown torch.save protocol version"));
    }
    match unpickle(&mut reader)? {
        Value::Dict(info) => {
            let little_endian = info
                .iter()
                .any(|(key, value)| *key == Value::Text("little_endian".to_owned()) && *value == Value::Bool(true));
            if !little_endian {
                return Err(refused("it was written on a big-endian machine"));
            }
        }
        _ => return Err(refused("no system information")),
    }
    let object = unpickle(&mut reader)?;
    let Value::List(keys) = unpickle(&mut reader)? else { return Err(refused("no list of storage keys")) };
    let mut storages: HashMap<String, (DType, &[u8])> = HashMap::new();
    let mut declared: HashMap<String, (DType, usize)> = HashMap::new();
    collect_storages(&object, &mut declared)?;
    for key in keys {
        let Value::Text(key) = key else { return Err(refused("a storage key is not a string")) };
        let (dtype, elements) =
            *declared.get(&key).ok_or_else(|| refused(format!("storage {key} is not used by any tensor")))?;
        let count = usize::try_from(reader.i64()?).map_err(|_| refused("a negative storage size"))?;
        if count != elements {
            return Err(refused(format!("storage {key} holds {count} elements, not the {elements} declared")));
        }
        let length = count.checked_mul(dtype.size()).ok_or_else(|| refused("a storage size overflows"))?;
        storages.insert(key, (dtype, reader.take(length)?));
    }
    let mut tensors = BTreeMap::new();
    flatten(&object, "", &storages, &mut tensors)?;
    if tensors.is_empty() {
        return Err(refused("it holds no tensors"));
    }
    Ok(tensors)
}

fn collect_storages(value: &Value, declared: &mut HashMap<String, (DType, usize)>) -> Result<()> {
    match value {
        Value::Dict(entries) => {
            for (_, value) in entries {
                collect_storages(value, declared)?;
            }
        }
        Value::Tensor(tensor) => {
            let entry = (tensor.dtype, tensor.storage_elements);
            if *declared.entry(tensor.storage_key.clone()).or_insert(entry) != entry {
                return Err(refused(format!("storage {} is declared twice, differently", tensor.storage_key)));
            }
        }
        _ => {}
    }
    Ok(())
}

fn flatten(
    value: &Value,
    prefix: &str,
    storages: &HashMap<String, (DType, &[u8])>,
    tensors: &mut BTreeMap<String, Tensor>,
) -> Result<()> {
    match value {
        Value::Dict(entries) => {
            for (key, value) in entries {
                let Value::Text(key) = key else { return Err(refused("a dict key is not a string")) };
                let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten(value, &name, storages, tensors)?;
            }
        }
        Value::Tensor(tensor) => {
            let (dtype, bytes) = storages
                .get(&tensor.storage_key)
                .ok_or_else(|| refused(format!("storage {} is missing", tensor.storage_key)))?;
            if *dtype != tensor.dtype {
                return Err(refused(format!("storage {} is used with two element types", tensor.storage_key)));
            }
            tensors.insert(prefix.to_owned(), gather(tensor, bytes)?);
        }
        _ => {}
    }
    Ok(())
}

/// The view's elements in row-major order.
fn gather(tensor: &TensorRef, storage: &[u8]) -> Result<Tensor> {
    let size = tensor.dtype.size();
    let count: usize = tensor.shape.iter().product();
    let mut data = Vec::with_capacity(count * size);
    let mut index = vec![0_usize; tensor.shape.len()];
    for _ in 0..count {
        let element = tensor.offset + index.iter().zip(&tensor.stride).map(|(i, s)| i * s).sum::<usize>();
        let start = element * size;
        data.extend_from_slice(
            storage.get(start..start + size).ok_or_else(|| refused("a tensor reaches past its storage's bytes"))?,
        );
        for axis in (0..index.len()).rev() {
            index[axis] += 1;
            if index[axis] < tensor.shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    Ok(Tensor { dtype: tensor.dtype, shape: tensor.shape.clone(), data })
}

/// The tensors as a safetensors file (names sorted, so the bytes are reproducible).
pub fn to_safetensors(tensors: &BTreeMap<String, Tensor>) -> Result<Vec<u8>> {
    let views = tensors
        .iter()
        .map(|(name, tensor)| {
            safetensors::tensor::TensorView::new(tensor.dtype.safetensors(), tensor.shape.clone(), &tensor.data)
                .map(|view| (name.clone(), view))
                .map_err(|error| Error::invalid(format!("tensor {name}: {error}")))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::tensor::serialize(views, None)
        .map_err(|error| Error::invalid(format!("cannot write safetensors: {error}")))
}

/// Converts a legacy PyTorch checkpoint file to a safetensors file.
pub fn convert_file(source: &std::path::Path, target: &std::path::Path) -> Result<()> {
    let bytes = std::fs::read(source).map_err(|error| Error::io(format!("cannot read {}", source.display()), error))?;
    let tensors = read(&bytes).map_err(|error| Error::invalid(format!("{}: {error}", source.display())))?;
    let out = to_safetensors(&tensors)?;
    std::fs::write(target, out).map_err(|error| Error::io(format!("cannot write {}", target.display()), error))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by `torch.save(..., _use_new_zipfile_serialization=False)` (PyTorch 2): views
    /// with strides and an offset into one shared storage, an int64 scalar, a float64 vector.
    const STATE_DICT: &[u8] = include_bytes!("../../../../tests/fixtures/models/legacy_state_dict.pth");
    /// The four genuine header pickles, then an object whose pickle calls `os.system`.
    const HOSTILE: &[u8] = include_bytes!("../../../../tests/fixtures/models/hostile_os_system.pth");

    fn floats(tensor: &Tensor) -> Vec<f32> {
        tensor.data.chunks(4).map(|chunk| f32::from_le_bytes(chunk.try_into().unwrap())).collect()
    }

    #[test]
    fn a_state_dict_is_read_with_its_strides_offsets_and_types() {
        let tensors = read(STATE_DICT).unwrap();
        assert_eq!(
            tensors.keys().collect::<Vec<_>>(),
            ["layer.bias", "layer.num_batches_tracked", "layer.weight", "scale"]
        );
        let weight = &tensors["layer.weight"];
        assert_eq!((weight.dtype, weight.shape.as_slice()), (DType::F32, [3, 2].as_slice()));
        assert_eq!(floats(weight), [1.0, 4.0, 2.0, 5.0, 3.0, 6.0], "the transpose of arange(1, 7).reshape(2, 3)");
        assert_eq!(floats(&tensors["layer.bias"]), [4.0, 5.0, 6.0], "row 1 of the same storage");
        let count = &tensors["layer.num_batches_tracked"];
        assert_eq!(
            (count.dtype, count.shape.len(), count.data.as_slice()),
            (DType::I64, 0, 7_i64.to_le_bytes().as_slice())
        );
        let scale = &tensors["scale"];
        assert_eq!(scale.dtype, DType::F64);
        assert_eq!(f64::from_le_bytes(scale.data[8..16].try_into().unwrap()), -2.0);

        let file = to_safetensors(&tensors).unwrap();
        assert_eq!(file, to_safetensors(&read(STATE_DICT).unwrap()).unwrap(), "the same bytes every time");
        let loaded = safetensors::SafeTensors::deserialize(&file).unwrap();
        assert_eq!(loaded.tensor("layer.weight").unwrap().shape(), [3, 2]);
        assert_eq!(loaded.tensor("layer.weight").unwrap().data(), weight.data.as_slice());
    }

    #[test]
    fn a_pickle_that_calls_anything_else_is_refused_and_nothing_runs() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("hostile.pth");
        std::fs::write(&source, HOSTILE).unwrap();
        let error = convert_file(&source, &dir.path().join("out.safetensors")).unwrap_err().to_string();
        assert!(error.contains("posix.system") && error.contains("only tensor-rebuild"), "{error}");
        assert!(!dir.path().join("out.safetensors").exists());
        assert!(!std::path::Path::new("pwned.txt").exists());
        // builtins.eval named by STACK_GLOBAL (protocol 4) is refused too.
        let mut stack_global = STATE_DICT[..137].to_vec();
        stack_global.extend_from_slice(b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94.");
        assert!(read(&stack_global).unwrap_err().to_string().contains("builtins.eval"));
    }

    #[test]
    fn truncated_or_inconsistent_files_are_clear_errors() {
        for cut in [0, 5, 20, 137, STATE_DICT.len() / 2, STATE_DICT.len() - 1] {
            let error = read(&STATE_DICT[..cut]).unwrap_err().to_string();
            assert!(error.contains("not a PyTorch checkpoint"), "cut at {cut}: {error}");
        }
        assert!(read(b"PK\x03\x04rest").unwrap_err().to_string().contains("zip"));
        assert!(read(b"\x80\x02K\x01.").unwrap_err().to_string().contains("magic"));
    }
}
