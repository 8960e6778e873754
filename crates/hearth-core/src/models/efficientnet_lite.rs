//! EfficientNet-Lite0 for candle: the mobile image classifier (ImageNet-1k) of Tan and Le,
//! in its "Lite" form — no squeeze-and-excitation, ReLU6 instead of swish, a fixed stem and
//! head — with TensorFlow's "same" padding, as the weights were trained. Batch norms are folded
//! into the convolutions when the weights load.
//!
//! Two forward paths compute the same function. On the CPU, images run channels-last (NHWC):
//! every 1×1 convolution is one matrix multiply (candle's gemm) and the depthwise and stem
//! convolutions are Hearth's kernels (`hearth_kernels::convolution`) — candle's grouped
//! convolution runs one small convolution per channel. Elsewhere (GPUs) candle's own
//! `conv2d` runs channels-first (NCHW). The weight names are those of the PyTorch port the
//! weights ship for (`_conv_stem`, `_blocks.N._depthwise_conv`, `_fc`, ...).

use candle_core::{CpuStorage, CustomOp1, DType, Device, InplaceOp1, InplaceOp2, Layout, Module, Shape, Tensor, D};
use candle_nn::VarBuilder;
use hearth_kernels::convolution::{self as kernels, Window};

use super::encoder::{values, values_mut};

/// One stage of blocks: how many, their kernel, the first one's stride, the expansion ratio,
/// and the channels in and out.
#[derive(Debug, Clone, Copy)]
pub struct Stage {
    pub repeats: usize,
    pub kernel: usize,
    pub stride: usize,
    pub expand: usize,
    pub input: usize,
    pub output: usize,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub stem: usize,
    pub head: usize,
    pub classes: usize,
    pub image_size: usize,
    pub batch_norm_epsilon: f64,
    pub stages: Vec<Stage>,
}

impl Config {
    /// EfficientNet-Lite0 (width and depth 1.0, 224 × 224 input).
    pub fn lite0() -> Self {
        let stage =
            |repeats, kernel, stride, expand, input, output| Stage { repeats, kernel, stride, expand, input, output };
        Self {
            stem: 32,
            head: 1280,
            classes: 1000,
            image_size: 224,
            batch_norm_epsilon: 1e-3,
            stages: vec![
                stage(1, 3, 1, 1, 32, 16),
                stage(2, 3, 2, 6, 16, 24),
                stage(2, 5, 2, 6, 24, 40),
                stage(3, 3, 2, 6, 40, 80),
                stage(3, 5, 1, 6, 80, 112),
                stage(4, 5, 2, 6, 112, 192),
                stage(1, 3, 1, 6, 192, 320),
            ],
        }
    }
}

/// Which implementation runs the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    /// Channels-last with Hearth's kernels: the default on the CPU.
    ChannelsLast,
    /// candle's `conv2d`, channels-first: the default on GPUs, and the check on the other.
    Candle,
}

/// A convolution with its batch norm folded in.
#[derive(Debug)]
struct Conv {
    /// `(out, in / groups, kernel, kernel)`, as PyTorch lays it out.
    weight: Tensor,
    bias: Tensor,
    kernel: usize,
    stride: usize,
    groups: usize,
    /// The same weights for the channels-last path.
    channels_last: ChannelsLastWeights,
    bias_values: Vec<f32>,
}

/// A convolution's weights as the channels-last path reads them.
#[derive(Debug)]
enum ChannelsLastWeights {
    /// `(kernel · kernel · in, out)`: rows of patches times this matrix.
    Dense(Tensor),
    /// `kernel · kernel · channels` values (tap row, tap column, channel).
    Depthwise(Vec<f32>),
}

impl Conv {
    #[allow(clippy::too_many_arguments)]
    fn load(
        conv: VarBuilder,
        norm: VarBuilder,
        input: usize,
        output: usize,
        kernel: usize,
        stride: usize,
        groups: usize,
        epsilon: f64,
    ) -> candle_core::Result<Self> {
        let weight = conv.get((output, input / groups, kernel, kernel), "weight")?;
        let gamma = norm.get(output, "weight")?;
        let beta = norm.get(output, "bias")?;
        let mean = norm.get(output, "running_mean")?;
        let variance = norm.get(output, "running_var")?;
        let scale = gamma.broadcast_div(&(variance + epsilon)?.sqrt()?)?;
        let weight = weight.broadcast_mul(&scale.reshape((output, 1, 1, 1))?)?.contiguous()?;
        let bias = (beta - mean.mul(&scale)?)?;
        let bias_values = bias.to_vec1::<f32>()?;
        let channels_last = if groups == 1 {
            // (out, in, ky, kx) → (ky, kx, in, out).
            let matrix = weight.permute((2, 3, 1, 0))?.reshape((kernel * kernel * input, output))?.contiguous()?;
            ChannelsLastWeights::Dense(matrix)
        } else {
            // (channels, 1, ky, kx) → (ky, kx, channels).
            let taps = weight.reshape((output, kernel * kernel))?.t()?.contiguous()?;
            ChannelsLastWeights::Depthwise(taps.flatten_all()?.to_vec1::<f32>()?)
        };
        Ok(Self { weight, bias, kernel, stride, groups, channels_last, bias_values })
    }

    /// The matrix of a dense convolution, for the channels-last path.
    fn matrix(&self) -> candle_core::Result<&Tensor> {
        match &self.channels_last {
            ChannelsLastWeights::Dense(matrix) => Ok(matrix),
            ChannelsLastWeights::Depthwise(_) => candle_core::bail!("a depthwise convolution has no dense matrix"),
        }
    }

    /// The taps of a depthwise convolution, for the channels-last path.
    fn taps(&self) -> candle_core::Result<&[f32]> {
        match &self.channels_last {
            ChannelsLastWeights::Depthwise(taps) => Ok(taps),
            ChannelsLastWeights::Dense(_) => candle_core::bail!("a dense convolution has no depthwise taps"),
        }
    }

    /// NCHW in, NCHW out, with candle's convolution after TensorFlow's "same" padding.
    fn forward_candle(&self, input: &Tensor, relu6: bool) -> candle_core::Result<Tensor> {
        let (_, _, height, width) = input.dims4()?;
        let window = Window::same(1, height, width, 1, self.kernel, self.stride);
        let pad = |out: usize, size: usize| ((out - 1) * self.stride + self.kernel).saturating_sub(size);
        let (pad_height, pad_width) = (pad(window.out_height, height), pad(window.out_width, width));
        let padded = input.pad_with_zeros(2, window.pad_top, pad_height - window.pad_top)?.pad_with_zeros(
            3,
            window.pad_left,
            pad_width - window.pad_left,
        )?;
        let out = padded.conv2d(&self.weight, 0, self.stride, 1, self.groups)?;
        let out = out.broadcast_add(&self.bias.reshape((1, (), 1, 1))?)?;
        if relu6 {
            out.clamp(0.0_f32, 6.0_f32)
        } else {
            Ok(out)
        }
    }
}

#[derive(Debug)]
struct Block {
    expand: Option<Conv>,
    depthwise: Conv,
    project: Conv,
    /// Stride 1 and as many channels out as in: the input is added back.
    residual: bool,
}

/// EfficientNet-Lite with its classifier: images in, logits out.
#[derive(Debug)]
pub struct EfficientNetLite {
    config: Config,
    stem: Conv,
    blocks: Vec<Block>,
    head: Conv,
    classifier: candle_nn::Linear,
    forward: Forward,
}

impl EfficientNetLite {
    pub fn load(variables: VarBuilder, config: &Config, forward: Forward) -> candle_core::Result<Self> {
        let epsilon = config.batch_norm_epsilon;
        let stem = Conv::load(variables.pp("_conv_stem"), variables.pp("_bn0"), 3, config.stem, 3, 2, 1, epsilon)?;
        let mut blocks = Vec::new();
        for stage in &config.stages {
            for repeat in 0..stage.repeats {
                let block = variables.pp(format!("_blocks.{}", blocks.len()));
                let (input, stride) = if repeat == 0 { (stage.input, stage.stride) } else { (stage.output, 1) };
                let expanded = input * stage.expand;
                let expand = (stage.expand != 1)
                    .then(|| Conv::load(block.pp("_expand_conv"), block.pp("_bn0"), input, expanded, 1, 1, 1, epsilon))
                    .transpose()?;
                let depthwise = Conv::load(
                    block.pp("_depthwise_conv"),
                    block.pp("_bn1"),
                    expanded,
                    expanded,
                    stage.kernel,
                    stride,
                    expanded,
                    epsilon,
                )?;
                let project =
                    Conv::load(block.pp("_project_conv"), block.pp("_bn2"), expanded, stage.output, 1, 1, 1, epsilon)?;
                blocks.push(Block { expand, depthwise, project, residual: stride == 1 && input == stage.output });
            }
        }
        let last = config.stages.last().map_or(config.stem, |stage| stage.output);
        let head = Conv::load(variables.pp("_conv_head"), variables.pp("_bn1"), last, config.head, 1, 1, 1, epsilon)?;
        let classifier = candle_nn::linear(config.head, config.classes, variables.pp("_fc"))?;
        if forward == Forward::ChannelsLast && !matches!(variables.device(), Device::Cpu) {
            candle_core::bail!("the channels-last EfficientNet path runs on the CPU only");
        }
        Ok(Self { config: config.clone(), stem, blocks, head, classifier, forward })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Logits `(batch, classes)` for preprocessed images `(batch, 3, size, size)` (NCHW).
    pub fn forward(&self, images: &Tensor) -> candle_core::Result<Tensor> {
        let features = match self.forward {
            Forward::ChannelsLast => self.features_channels_last(images)?,
            Forward::Candle => self.features_candle(images)?,
        };
        self.classifier.forward(&features)
    }

    fn features_candle(&self, images: &Tensor) -> candle_core::Result<Tensor> {
        let mut x = self.stem.forward_candle(images, true)?;
        for block in &self.blocks {
            let input = x.clone();
            if let Some(expand) = &block.expand {
                x = expand.forward_candle(&x, true)?;
            }
            x = block.depthwise.forward_candle(&x, true)?;
            x = block.project.forward_candle(&x, false)?;
            if block.residual {
                x = (x + input)?;
            }
        }
        let x = self.head.forward_candle(&x, true)?;
        x.mean(D::Minus1)?.mean(D::Minus1)
    }

    fn features_channels_last(&self, images: &Tensor) -> candle_core::Result<Tensor> {
        let (batch, _, height, width) = images.dims4()?;
        let images = images.to_dtype(DType::F32)?.permute((0, 2, 3, 1))?.contiguous()?;
        // The stem: patches, one matrix multiply, bias + ReLU6.
        let window = Window::same(batch, height, width, 3, self.stem.kernel, self.stem.stride);
        let patches = images.apply_op1_no_bwd(&Patches { window })?;
        let x = patches.matmul(self.stem.matrix()?)?;
        x.inplace_op1(&BiasActivation { bias: &self.stem.bias_values, relu6: true })?;
        let (mut x, mut height, mut width) = (x, window.out_height, window.out_width);
        for block in &self.blocks {
            let input = x.clone();
            if let Some(expand) = &block.expand {
                x = pointwise(&x, expand, true)?;
            }
            let channels = block.depthwise.bias_values.len();
            let window = Window::same(batch, height, width, channels, block.depthwise.kernel, block.depthwise.stride);
            x = x.apply_op1_no_bwd(&Depthwise { window, conv: &block.depthwise })?;
            (height, width) = (window.out_height, window.out_width);
            let projected = x.matmul(block.project.matrix()?)?;
            if block.residual {
                projected.inplace_op2(&input, &BiasActivation { bias: &block.project.bias_values, relu6: false })?;
            } else {
                projected.inplace_op1(&BiasActivation { bias: &block.project.bias_values, relu6: false })?;
            }
            x = projected;
        }
        let x = pointwise(&x, &self.head, true)?;
        // Global average pooling over each image's positions.
        x.reshape((batch, height * width, self.config.head))?.mean(1)
    }
}

/// A 1×1 convolution on rows of channels: one matrix multiply, then bias (and ReLU6).
fn pointwise(rows: &Tensor, conv: &Conv, relu6: bool) -> candle_core::Result<Tensor> {
    let out = rows.matmul(conv.matrix()?)?;
    out.inplace_op1(&BiasActivation { bias: &conv.bias_values, relu6 })?;
    Ok(out)
}

/// NHWC images (`batch · height · width` rows of channels) to the rows of patches a dense
/// convolution reads.
struct Patches {
    window: Window,
}

impl CustomOp1 for Patches {
    fn name(&self) -> &'static str {
        "patches"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let input = values(storage, layout, self.name())?;
        let window = self.window;
        let rows = kernels::patches(input, window);
        let shape =
            (window.batch * window.out_height * window.out_width, window.kernel * window.kernel * window.channels);
        Ok((CpuStorage::F32(rows), Shape::from(shape)))
    }
}

/// Depthwise convolution + bias + ReLU6 on NHWC rows.
struct Depthwise<'a> {
    window: Window,
    conv: &'a Conv,
}

impl CustomOp1 for Depthwise<'_> {
    fn name(&self) -> &'static str {
        "depthwise"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let input = values(storage, layout, self.name())?;
        let window = self.window;
        let rows = window.batch * window.out_height * window.out_width;
        let mut out = vec![0.0_f32; rows * window.channels];
        kernels::depthwise(input, window, self.conv.taps()?, &self.conv.bias_values, true, &mut out);
        Ok((CpuStorage::F32(out), Shape::from((rows, window.channels))))
    }
}

/// `x ← x + bias (+ residual)`, then ReLU6 if asked, on rows of channels.
struct BiasActivation<'a> {
    bias: &'a [f32],
    relu6: bool,
}

impl BiasActivation<'_> {
    fn check(&self, layout: &Layout) -> candle_core::Result<()> {
        if layout.dims().last() != Some(&self.bias.len()) {
            candle_core::bail!("bias-activation: rows of {:?} for a bias of {}", layout.dims(), self.bias.len());
        }
        Ok(())
    }
}

impl InplaceOp1 for BiasActivation<'_> {
    fn name(&self) -> &'static str {
        "bias-activation"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        self.check(layout)?;
        kernels::bias_activation(values_mut(storage, layout, InplaceOp1::name(self))?, self.bias, None, self.relu6);
        Ok(())
    }
}

impl InplaceOp2 for BiasActivation<'_> {
    fn name(&self) -> &'static str {
        "bias-residual-activation"
    }

    fn cpu_fwd(
        &self,
        storage: &mut CpuStorage,
        layout: &Layout,
        residual: &CpuStorage,
        residual_layout: &Layout,
    ) -> candle_core::Result<()> {
        self.check(layout)?;
        if layout.dims() != residual_layout.dims() {
            candle_core::bail!("bias-residual-activation: {:?} plus {:?}", layout.dims(), residual_layout.dims());
        }
        let residual = values(residual, residual_layout, InplaceOp2::name(self))?;
        kernels::bias_activation(
            values_mut(storage, layout, InplaceOp2::name(self))?,
            self.bias,
            Some(residual),
            self.relu6,
        );
        Ok(())
    }
}
