//! A cursor over a model file's bytes for the readers that take files apart without running
//! anything (`torch_legacy`, `e5`): little-endian numbers and strings, and a clear error, never
//! a panic, when the file ends early. Each reader brings its own error.

pub(crate) struct Reader<'a, E> {
    bytes: &'a [u8],
    /// The offset of the next unread byte.
    pub(crate) at: usize,
    /// Makes the reader's error from a description of what is wrong.
    error: fn(String) -> E,
}

impl<'a, E> Reader<'a, E> {
    pub(crate) fn new(bytes: &'a [u8], error: fn(String) -> E) -> Self {
        Self { bytes, at: 0, error }
    }

    pub(crate) fn take(&mut self, count: usize) -> Result<&'a [u8], E> {
        let Some(end) = self.at.checked_add(count).filter(|&end| end <= self.bytes.len()) else {
            return Err((self.error)(format!("the file ends early (wanted {count} bytes at offset {})", self.at)));
        };
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], E> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    pub(crate) fn byte(&mut self) -> Result<u8, E> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, E> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, E> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn i32(&mut self) -> Result<i32, E> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, E> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, E> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    pub(crate) fn f32(&mut self) -> Result<f32, E> {
        Ok(f32::from_le_bytes(self.array()?))
    }

    /// `count` f32 values.
    pub(crate) fn f32s(&mut self, count: usize) -> Result<Vec<f32>, E> {
        let Some(length) = count.checked_mul(4) else { return Err((self.error)(format!("{count} values"))) };
        Ok(self.take(length)?.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    /// `length` bytes of UTF-8 text.
    pub(crate) fn text(&mut self, length: usize) -> Result<String, E> {
        let bytes = self.take(length)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| (self.error)("a string is not UTF-8".into()))
    }

    /// Text up to the next newline (which is read but not returned).
    pub(crate) fn line(&mut self, what: &str) -> Result<&'a str, E> {
        let rest = &self.bytes[self.at..];
        let Some(end) = rest.iter().position(|&byte| byte == b'\n') else {
            return Err((self.error)(format!("{what} has no end")));
        };
        let text = std::str::from_utf8(&rest[..end]).map_err(|_| (self.error)(format!("{what} is not UTF-8")))?;
        self.at += end + 1;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::Reader;

    #[test]
    fn numbers_and_text_read_little_endian_and_a_short_file_is_an_error() {
        let bytes = [1, 0, 0x34, 0x12, b'h', b'i', b'\n', 0xff];
        let mut reader = Reader::new(&bytes, |message| message);
        assert_eq!(reader.u16().unwrap(), 1);
        assert_eq!(reader.u16().unwrap(), 0x1234);
        assert_eq!(reader.line("a name").unwrap(), "hi");
        assert_eq!(reader.at, 7);
        assert_eq!(reader.u32().unwrap_err(), "the file ends early (wanted 4 bytes at offset 7)");
        assert_eq!(reader.text(1).unwrap_err(), "a string is not UTF-8");
    }
}
