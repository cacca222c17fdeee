//! A small interpreter for the face models' ONNX graphs, channels last (NHWC), so the
//! depthwise and pointwise convolutions that make up BlazeFace and Face Mesh run as plain loops
//! over contiguous channels, which the compiler vectorises.
//!
//! tract, which ran them before, works channels first, and on these small maps (64×64 down to
//! 8×8, 16 to 128 channels) most of its time went to im2col, packing and border zones rather
//! than to arithmetic. Here a dense convolution is one matrix product (a register-blocked
//! kernel, compiled for AVX2 and FMA where the processor has them), a depthwise one a loop
//! over each pixel's contiguous channels, and elementwise steps work in place. The outputs
//! equal tract's within float rounding (`net::tests`: fingerprints tract gave on the same
//! inputs).
//!
//! Only what the MediaPipe conversions use is understood: `Conv` (dense, or depthwise with
//! `group` = channels), `ConvTranspose` with stride equal to its kernel, `Relu`, `PRelu` (a
//! slope per channel), `Sigmoid`, `HardSwish`, `Add`, `Mul` (elementwise, or by a value per
//! channel), `MaxPool` 2×2, `AveragePool` over the whole map, `Resize` (bilinear, half-pixel,
//! ×2), `Pad` on the channel axis, `Transpose` between NHWC and NCHW, `Reshape` to rows or to
//! one value per channel, and `Concat` of rows. The data always stays channels last; the
//! loader follows which layout ONNX sees each value in (tf2onnx transposes back and forth
//! inside the graph), and refuses an operation in a layout it cannot honour, automatic
//! padding, and anything else it does not know, rather than run it approximately. What only
//! the sizes can tell (a reshape of channels-first data must be one pixel, a pool must cover
//! the whole map, slopes and gates must match the channels, added maps must agree) is checked
//! when the graph runs. The tests load and run every embedded model.

use super::proto::{self, Node as NodeProto, Tensor as TensorProto};
use std::collections::HashMap;

/// A value between two nodes: a picture of `c` channels, channels last, or rows.
#[derive(Debug)]
struct Value {
    h: usize,
    w: usize,
    c: usize,
    data: Vec<f32>,
}

#[derive(Debug)]
enum Op {
    /// Dense convolution; weights `[ky][kx][ci][co]`, `co` and the bias padded to whole
    /// registers.
    Conv(Conv),
    /// Depthwise convolution; weights `[ky][kx][c]`.
    Depthwise(Conv),
    /// Transposed convolution with a k×k kernel and stride k (the segmentation's last
    /// upsampling); weights `[ky][kx][co][ci]` (ONNX's `[ci][co][ky][kx]`, rearranged at load).
    Upsample(Conv),
    Relu,
    /// Slope per channel.
    PRelu(Vec<f32>),
    Sigmoid,
    HardSwish,
    Add,
    /// Elementwise, or by a value per channel (a squeeze-and-excitation gate).
    Mul,
    MaxPool2,
    /// The mean of each channel over the whole map (the pool's window, checked against the
    /// map).
    GlobalMean([usize; 2]),
    /// Bilinear, twice the size, half-pixel centres.
    Resize2,
    /// Zero channels appended.
    PadChannels(usize),
    /// A tf2onnx layout change: the data stays channels last.
    Layout,
    /// To rows, or to one value per channel: channels-last data is already in that order.
    Rows,
    /// A reshape of channels-first data: only a single pixel (whose channels read the same in
    /// either layout) is allowed, checked when it runs.
    Pixel,
    Concat,
}

/// A value's layout as the ONNX graph sees it. The data is always channels last; tf2onnx's
/// transposes only change which layout the graph's next operations assume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    Nhwc,
    Nchw,
    /// `[1, n, width]` (or `[1, n]`, width 1): rows joined end to end by `Concat`.
    Rows(usize),
}

#[derive(Debug)]
struct Conv {
    weights: Vec<f32>,
    bias: Vec<f32>,
    cin: usize,
    cout: usize,
    k: [usize; 2],
    stride: usize,
    /// Top, left, bottom, right.
    pads: [usize; 4],
}

#[derive(Debug)]
struct Node {
    op: Op,
    inputs: Vec<usize>,
    output: usize,
}

/// A loaded graph: its nodes in order, over numbered value slots.
#[derive(Debug)]
pub struct Graph {
    nodes: Vec<Node>,
    slots: usize,
    input: usize,
    outputs: Vec<usize>,
    /// For each slot, the last node that reads it (its value is dropped after).
    last_use: Vec<usize>,
}

/// Why a graph did not load.
#[derive(Debug)]
pub struct Unsupported(pub String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn attr_ints(n: &NodeProto, name: &str) -> Option<Vec<i64>> {
    n.attributes
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.ints.clone())
}

fn attr_int(n: &NodeProto, name: &str) -> Option<i64> {
    n.attributes.iter().find(|a| a.name == name).map(|a| a.i)
}

impl Graph {
    /// Loads an ONNX model of the kind described in the module's documentation.
    pub fn load(bytes: &[u8]) -> Result<Graph, Unsupported> {
        let graph = proto::read_model(bytes)
            .map_err(|e| Unsupported(format!("not an ONNX model: {}", e.0)))?;
        Self::from_proto(&graph)
    }

    fn from_proto(g: &proto::Graph) -> Result<Graph, Unsupported> {
        let init: HashMap<&str, &TensorProto> = g
            .initializers
            .iter()
            .map(|t| (t.name.as_str(), t))
            .collect();
        let mut slot_of: HashMap<String, usize> = HashMap::new();
        let input_name = g
            .inputs
            .iter()
            .map(String::as_str)
            .find(|n| !init.contains_key(n))
            .ok_or_else(|| Unsupported("no input".into()))?;
        slot_of.insert(input_name.to_string(), 0);
        // Each value's layout as ONNX sees it (the data itself is always channels last); the
        // input is NHWC.
        let mut order = vec![Order::Nhwc];
        let mut nodes = Vec::new();
        for n in &g.nodes {
            let bad = |why: &str| Unsupported(format!("{} {}: {why}", n.op_type, n.name));
            let data_inputs: Vec<&String> = n
                .inputs
                .iter()
                .filter(|i| !init.contains_key(i.as_str()))
                .collect();
            let param = |k: usize| {
                n.inputs
                    .get(k)
                    .and_then(|name| init.get(name.as_str()).copied())
                    .ok_or_else(|| bad(&format!("input {k} is not a constant")))
            };
            let floats = |k: usize| param(k)?.f32s().map_err(|e| bad(e.0));
            // A weight tensor's four sizes, each at least 1.
            let dims4 = |k: usize| -> Result<[usize; 4], Unsupported> {
                let d = &param(k)?.dims;
                let d: Vec<usize> = d
                    .iter()
                    .map(|&v| usize::try_from(v).ok().filter(|&v| v > 0))
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad("a size under 1"))?;
                d.try_into().map_err(|_| bad("weights are not 4-D"))
            };
            let ints = |k: usize| param(k)?.i64s().map_err(|e| bad(e.0));
            if n.outputs.is_empty() || data_inputs.is_empty() {
                return Err(bad("a node needs a computed input and an output"));
            }
            // Shape-changing windows must be spelled out: no automatic padding, no rounding up.
            if n.attributes.iter().any(|a| {
                (a.name == "auto_pad" && a.s != b"NOTSET") || (a.name == "ceil_mode" && a.i != 0)
            }) {
                return Err(bad("automatic padding or rounding up"));
            }
            let op = match n.op_type.as_str() {
                "Conv" => {
                    let [cout, cin_g, kh, kw] = dims4(1)?;
                    let w = floats(1)?;
                    let bias = match n.inputs.get(2) {
                        Some(_) => floats(2)?,
                        None => vec![0.0; cout],
                    };
                    if bias.len() != cout {
                        return Err(bad("a bias per output channel"));
                    }
                    let group = attr_int(n, "group").unwrap_or(1).max(1) as usize;
                    let stride = attr_ints(n, "strides").unwrap_or_else(|| vec![1, 1]);
                    if stride.len() != 2 || stride[0] != stride[1] || stride[0] < 1 {
                        return Err(bad("strides differ"));
                    }
                    if attr_ints(n, "dilations").is_some_and(|d| d.iter().any(|&v| v != 1)) {
                        return Err(bad("dilated"));
                    }
                    let p = attr_ints(n, "pads").unwrap_or_else(|| vec![0; 4]);
                    let p: Vec<Result<usize, _>> = p.into_iter().map(usize::try_from).collect();
                    let [Ok(t), Ok(l), Ok(b), Ok(r)] = p[..] else {
                        return Err(bad("pads are not four sizes"));
                    };
                    let pads = [t, l, b, r];
                    let conv = |weights| Conv {
                        weights,
                        bias: bias.clone(),
                        cin: cin_g * group,
                        cout,
                        k: [kh, kw],
                        stride: stride[0] as usize,
                        pads,
                    };
                    if group == 1 {
                        // [co][ci][ky][kx] → [ky][kx][ci][co], the output channels padded
                        // with zeros to whole registers.
                        let cpad = kernels::padded(cout);
                        let mut t = vec![0.0; kh * kw * cin_g * cpad];
                        for co in 0..cout {
                            for ci in 0..cin_g {
                                for ky in 0..kh {
                                    for kx in 0..kw {
                                        t[((ky * kw + kx) * cin_g + ci) * cpad + co] =
                                            w[((co * cin_g + ci) * kh + ky) * kw + kx];
                                    }
                                }
                            }
                        }
                        let mut c = conv(t);
                        c.bias.resize(cpad, 0.0);
                        Op::Conv(c)
                    } else if group == cout && cin_g == 1 {
                        // [c][1][ky][kx] → [ky][kx][c]
                        let mut t = vec![0.0; w.len()];
                        for c in 0..cout {
                            for k in 0..kh * kw {
                                t[k * cout + c] = w[c * kh * kw + k];
                            }
                        }
                        Op::Depthwise(conv(t))
                    } else {
                        return Err(bad("grouped but not depthwise"));
                    }
                }
                "ConvTranspose" => {
                    let [cin, cout, kh, kw] = dims4(1)?;
                    let weights = floats(1)?;
                    let stride = attr_ints(n, "strides").unwrap_or_else(|| vec![1, 1]);
                    let all = |name: &str, v: i64| {
                        attr_ints(n, name).is_none_or(|x| x.iter().all(|&x| x == v))
                    };
                    if kh != kw
                        || stride != [kh as i64, kw as i64]
                        || !all("pads", 0)
                        || !all("output_padding", 0)
                        || !all("dilations", 1)
                        || attr_ints(n, "output_shape").is_some()
                        || attr_int(n, "group").is_some_and(|g| g > 1)
                    {
                        return Err(bad("only a k×k kernel with stride k"));
                    }
                    let bias = match n.inputs.get(2) {
                        Some(_) => floats(2)?,
                        None => vec![0.0; cout],
                    };
                    if bias.len() != cout {
                        return Err(bad("a bias per output channel"));
                    }
                    // [ci][co][ky][kx] → [ky][kx][co][ci]: one contiguous dot product per
                    // output value.
                    let mut taps = vec![0.0; weights.len()];
                    for ci in 0..cin {
                        for co in 0..cout {
                            for t in 0..kh * kw {
                                taps[(t * cout + co) * cin + ci] =
                                    weights[(ci * cout + co) * kh * kw + t];
                            }
                        }
                    }
                    Op::Upsample(Conv {
                        weights: taps,
                        bias,
                        cin,
                        cout,
                        k: [kh, kw],
                        stride: kh,
                        pads: [0; 4],
                    })
                }
                "Relu" => Op::Relu,
                "PRelu" => {
                    // One slope per channel: [C, 1, 1] or [1, C, 1, 1] against NCHW.
                    let dims = &param(1)?.dims;
                    let channel_axis = dims.len().checked_sub(3);
                    let per_channel = dims
                        .iter()
                        .enumerate()
                        .all(|(i, &d)| d == 1 || Some(i) == channel_axis);
                    if !per_channel || dims.len() < 3 {
                        return Err(bad("only one slope per channel"));
                    }
                    Op::PRelu(floats(1)?)
                }
                "Sigmoid" => Op::Sigmoid,
                "HardSwish" => {
                    let defaults = n.attributes.iter().all(|a| match a.name.as_str() {
                        "alpha" => (a.f - 1.0 / 6.0).abs() < 1e-7,
                        "beta" => (a.f - 0.5).abs() < 1e-7,
                        _ => false,
                    });
                    if !defaults {
                        return Err(bad("only the default slope and offset"));
                    }
                    Op::HardSwish
                }
                "Add" => Op::Add,
                "Mul" => Op::Mul,
                "AveragePool" => {
                    let p = attr_ints(n, "pads").unwrap_or_default();
                    if p.iter().any(|&v| v != 0) {
                        return Err(bad("padded pooling"));
                    }
                    let k = attr_ints(n, "kernel_shape").unwrap_or_default();
                    let window: Option<Vec<usize>> = k
                        .iter()
                        .map(|&v| usize::try_from(v).ok().filter(|&v| v > 0))
                        .collect();
                    let Some([kh, kw]) = window.as_deref() else {
                        return Err(bad("pooling window is not 2-D"));
                    };
                    Op::GlobalMean([*kh, *kw])
                }
                "Resize" => {
                    let s_attr = |name: &str| {
                        n.attributes
                            .iter()
                            .find(|a| a.name == name)
                            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
                            .unwrap_or_default()
                    };
                    let scales = floats(2)?;
                    if s_attr("mode") != "linear"
                        || s_attr("coordinate_transformation_mode") != "half_pixel"
                        || scales != [1.0, 1.0, 2.0, 2.0]
                    {
                        return Err(bad("only bilinear, half-pixel, twice the size"));
                    }
                    Op::Resize2
                }
                "MaxPool" => {
                    let k = attr_ints(n, "kernel_shape").unwrap_or_default();
                    let s = attr_ints(n, "strides").unwrap_or_default();
                    let p = attr_ints(n, "pads").unwrap_or_else(|| vec![0; 4]);
                    let dilated =
                        attr_ints(n, "dilations").is_some_and(|d| d.iter().any(|&v| v != 1));
                    if k != [2, 2] || s != [2, 2] || p.iter().any(|&v| v != 0) || dilated {
                        return Err(bad("only 2×2 pooling by 2 is supported"));
                    }
                    Op::MaxPool2
                }
                "Pad" => {
                    let p = ints(1)?;
                    let mode = n.attributes.iter().find(|a| a.name == "mode");
                    if mode.is_some_and(|m| m.s != b"constant") || n.inputs.len() > 2 {
                        return Err(bad("only zero padding"));
                    }
                    // [n, c, h, w] begins, then ends: only channels appended.
                    let only_channels = p.iter().enumerate().all(|(i, &v)| (i == 5) == (v != 0));
                    if p.len() != 8 || !only_channels || p[5] < 0 {
                        return Err(bad("only padding of the channel axis's end"));
                    }
                    Op::PadChannels(p[5] as usize)
                }
                "Transpose" => {
                    let perm = attr_ints(n, "perm").unwrap_or_default();
                    if perm != [0, 3, 1, 2] && perm != [0, 2, 3, 1] {
                        return Err(bad("only NHWC ↔ NCHW"));
                    }
                    Op::Layout
                }
                "Reshape" => Op::Rows,
                "Concat" => {
                    if attr_int(n, "axis") != Some(1) || data_inputs.len() != n.inputs.len() {
                        return Err(bad("only computed rows are concatenated"));
                    }
                    Op::Concat
                }
                _ => return Err(bad("not supported")),
            };
            let inputs = data_inputs
                .iter()
                .map(|name| {
                    slot_of
                        .get(name.as_str())
                        .copied()
                        .ok_or_else(|| bad(&format!("{name} is used before it is made")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let ins: Vec<Order> = inputs.iter().map(|&i| order[i]).collect();
            let out_order = match &op {
                Op::Add | Op::Mul if inputs.len() != 2 => {
                    return Err(bad("two computed inputs"));
                }
                Op::Add | Op::Mul if ins[0] != ins[1] => {
                    return Err(bad("inputs in different layouts"));
                }
                Op::Relu | Op::Sigmoid | Op::HardSwish | Op::Add | Op::Mul => ins[0],
                Op::Layout => {
                    let to_nchw = attr_ints(n, "perm").unwrap_or_default() == [0, 3, 1, 2];
                    match (ins[0], to_nchw) {
                        (Order::Nhwc, true) => Order::Nchw,
                        (Order::Nchw, false) => Order::Nhwc,
                        _ => return Err(bad("a transpose from the layout it does not expect")),
                    }
                }
                Op::Rows => {
                    // The target shape says what the result is: rows, or one value per channel
                    // in either layout. Channels-first data reshapes only as a single pixel,
                    // which reads the same in both layouts (checked when it runs).
                    let shape = ints(1)?;
                    let non_unit: Vec<usize> =
                        (0..shape.len()).filter(|&i| shape[i] != 1).collect();
                    match (shape.len(), &non_unit[..]) {
                        (4, [1]) => Order::Nchw,
                        (4, [3]) => Order::Nhwc,
                        // A single value: the same in every layout.
                        (_, []) => Order::Rows(1),
                        (2, _) if shape[0] == 1 => Order::Rows(1),
                        (3, _) if shape[0] == 1 && shape[2] > 0 => Order::Rows(shape[2] as usize),
                        _ => return Err(bad("only to rows or to one value per channel")),
                    }
                }
                Op::Concat
                    if ins
                        .iter()
                        .any(|&o| !matches!(o, Order::Rows(_)) || o != ins[0]) =>
                {
                    return Err(bad("only rows of one width are concatenated"));
                }
                Op::Concat => ins[0],
                // Convolutions, pools, resizing, channel padding and per-channel slopes read
                // ONNX's channels-first axes.
                _ if ins[0] != Order::Nchw => {
                    return Err(bad("expects channels-first data"));
                }
                _ => Order::Nchw,
            };
            let single_pixel = matches!(op, Op::Rows) && ins[0] == Order::Nchw;
            let op = if single_pixel { Op::Pixel } else { op };
            let output = slot_of.len();
            slot_of.insert(n.outputs[0].clone(), output);
            order.push(out_order);
            nodes.push(Node { op, inputs, output });
        }
        let outputs = g
            .outputs
            .iter()
            .map(|o| {
                let slot = slot_of
                    .get(o)
                    .copied()
                    .ok_or_else(|| Unsupported(format!("output {o} is not made")))?;
                if order[slot] == Order::Nchw {
                    return Err(Unsupported(format!("output {o} is channels first")));
                }
                Ok(slot)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let slots = slot_of.len();
        let mut last_use = vec![usize::MAX; slots];
        for (i, n) in nodes.iter().enumerate() {
            for &s in &n.inputs {
                last_use[s] = i;
            }
        }
        for &o in &outputs {
            last_use[o] = usize::MAX;
        }
        Ok(Graph {
            nodes,
            slots,
            input: 0,
            outputs,
            last_use,
        })
    }

    /// Runs the graph on one `side`×`side` picture of `channels`, channels last; the outputs
    /// flattened, channels last.
    pub fn run(&self, side: usize, channels: usize, input: Vec<f32>) -> Vec<Vec<f32>> {
        assert_eq!(
            input.len(),
            side * side * channels,
            "input has the model's shape"
        );
        let mut vals: Vec<Option<Value>> = vec![None; self.slots];
        vals[self.input] = Some(Value {
            h: side,
            w: side,
            c: channels,
            data: input,
        });
        for (i, n) in self.nodes.iter().enumerate() {
            // The first input, owned: moved out where this node is its last reader (and reads
            // it once), else copied. Elementwise operations then work in place.
            let first_owned = self.last_use[n.inputs[0]] == i
                && n.inputs.iter().filter(|&&x| x == n.inputs[0]).count() == 1;
            let owned = |vals: &mut [Option<Value>]| -> Value {
                let slot = &mut vals[n.inputs[0]];
                if first_owned {
                    slot.take()
                } else {
                    slot.clone()
                }
                .expect("a value is made before it is used")
            };
            fn slot(vals: &[Option<Value>], s: usize) -> &Value {
                vals[s].as_ref().expect("a value is made before it is used")
            }
            let out = match &n.op {
                Op::Conv(c) => conv(slot(&vals, n.inputs[0]), c),
                Op::Depthwise(c) => depthwise(slot(&vals, n.inputs[0]), c),
                Op::Upsample(c) => upsample(slot(&vals, n.inputs[0]), c),
                Op::Relu => map(owned(&mut vals), |v, _| v.max(0.0)),
                Op::PRelu(s) => {
                    let mut a = owned(&mut vals);
                    assert_eq!(s.len(), a.c, "a slope per channel");
                    kernels::prelu(&mut a.data, s);
                    a
                }
                Op::Sigmoid => map(owned(&mut vals), |v, _| 1.0 / (1.0 + (-v).exp())),
                Op::HardSwish => map(owned(&mut vals), |v, _| v * (v / 6.0 + 0.5).clamp(0.0, 1.0)),
                Op::Add => {
                    let mut a = owned(&mut vals);
                    let b = slot(&vals, n.inputs[1]);
                    assert_eq!(a.data.len(), b.data.len(), "Add's inputs agree");
                    a.data.iter_mut().zip(&b.data).for_each(|(x, y)| *x += y);
                    a
                }
                Op::Mul => {
                    let (la, lb) = (
                        slot(&vals, n.inputs[0]).data.len(),
                        slot(&vals, n.inputs[1]).data.len(),
                    );
                    if la >= lb {
                        let mut a = owned(&mut vals);
                        let b = slot(&vals, n.inputs[1]);
                        if la == lb {
                            a.data.iter_mut().zip(&b.data).for_each(|(x, y)| *x *= y);
                            a
                        } else {
                            // The second holds one value per channel of the first.
                            assert!(lb == a.c && b.h * b.w == 1, "Mul by one value per channel");
                            map(a, |v, c| v * b.data[c])
                        }
                    } else {
                        // The first holds one value per channel of the second.
                        let gate = owned(&mut vals);
                        let big = slot(&vals, n.inputs[1]).clone();
                        assert!(
                            gate.data.len() == big.c && gate.h * gate.w == 1,
                            "Mul by one value per channel"
                        );
                        map(big, |v, c| v * gate.data[c])
                    }
                }
                Op::MaxPool2 => max_pool(slot(&vals, n.inputs[0])),
                Op::GlobalMean(k) => {
                    let a = slot(&vals, n.inputs[0]);
                    assert_eq!(*k, [a.h, a.w], "AveragePool covers the whole map");
                    let n = (a.h * a.w) as f32;
                    let mut data = vec![0.0; a.c];
                    for px in a.data.chunks_exact(a.c) {
                        for (m, &v) in data.iter_mut().zip(px) {
                            *m += v;
                        }
                    }
                    data.iter_mut().for_each(|m| *m /= n);
                    Value {
                        h: 1,
                        w: 1,
                        c: a.c,
                        data,
                    }
                }
                Op::Resize2 => resize2(slot(&vals, n.inputs[0])),
                Op::PadChannels(extra) => pad_channels(slot(&vals, n.inputs[0]), *extra),
                Op::Layout => owned(&mut vals),
                Op::Pixel | Op::Rows => {
                    if matches!(n.op, Op::Pixel) {
                        let a = slot(&vals, n.inputs[0]);
                        assert_eq!(a.h * a.w, 1, "a channels-first reshape of one pixel");
                    }
                    // Rows of channels-last data, or a 1×1 map's channels, which read the same
                    // in either layout.
                    let a = owned(&mut vals);
                    Value {
                        h: 1,
                        w: 1,
                        c: a.data.len(),
                        data: a.data,
                    }
                }
                Op::Concat => {
                    // Rows of one width (checked when the graph loaded) joined end to end.
                    let mut data = Vec::new();
                    for k in 0..n.inputs.len() {
                        data.extend_from_slice(&slot(&vals, n.inputs[k]).data);
                    }
                    Value {
                        h: 1,
                        w: 1,
                        c: data.len(),
                        data,
                    }
                }
            };
            vals[n.output] = Some(out);
            for &s in &n.inputs {
                if self.last_use[s] == i {
                    vals[s] = None;
                }
            }
        }
        self.outputs
            .iter()
            .map(|&o| vals[o].take().map(|v| v.data).unwrap_or_default())
            .collect()
    }
}

impl Clone for Value {
    fn clone(&self) -> Self {
        Value {
            data: self.data.clone(),
            ..*self
        }
    }
}

/// `f(value, channel)` on every value, in place.
fn map(mut a: Value, f: impl Fn(f32, usize) -> f32) -> Value {
    for px in a.data.chunks_exact_mut(a.c) {
        for (c, v) in px.iter_mut().enumerate() {
            *v = f(*v, c);
        }
    }
    a
}

fn out_size(size: usize, k: usize, stride: usize, before: usize, after: usize) -> usize {
    (size + before + after - k) / stride + 1
}

/// Dense convolution as a matrix product: the input's taps per output pixel (the pixels
/// themselves for a 1×1 convolution) times the weights.
fn conv(a: &Value, c: &Conv) -> Value {
    assert_eq!(a.c, c.cin, "Conv's input channels");
    let [kh, kw] = c.k;
    let oh = out_size(a.h, kh, c.stride, c.pads[0], c.pads[2]);
    let ow = out_size(a.w, kw, c.stride, c.pads[1], c.pads[3]);
    let pointwise = kh == 1 && kw == 1 && c.stride == 1 && c.pads == [0; 4];
    let taps;
    let rows: &[f32] = if pointwise {
        &a.data
    } else {
        taps = im2col(a, c, oh, ow);
        &taps
    };
    let mut data = vec![0.0; oh * ow * c.cout];
    kernels::gemm(
        rows,
        kh * kw * c.cin,
        &c.weights,
        &c.bias,
        c.cout,
        &mut data,
    );
    Value {
        h: oh,
        w: ow,
        c: c.cout,
        data,
    }
}

/// Each output pixel's taps in a row, `[ky][kx][ci]`, zeros outside the picture.
fn im2col(a: &Value, c: &Conv, oh: usize, ow: usize) -> Vec<f32> {
    let [kh, kw] = c.k;
    let k = kh * kw * a.c;
    let mut out = vec![0.0; oh * ow * k];
    for oy in 0..oh {
        for ox in 0..ow {
            let row = &mut out[(oy * ow + ox) * k..][..k];
            for ky in 0..kh {
                let Some(iy) = (oy * c.stride + ky).checked_sub(c.pads[0]) else {
                    continue;
                };
                if iy >= a.h {
                    continue;
                }
                let x0 = ox * c.stride;
                let dst = &mut row[ky * kw * a.c..][..kw * a.c];
                if x0 >= c.pads[1] && x0 - c.pads[1] + kw <= a.w {
                    // The row's taps lie side by side in the input.
                    dst.copy_from_slice(&a.data[(iy * a.w + x0 - c.pads[1]) * a.c..][..kw * a.c]);
                    continue;
                }
                for kx in 0..kw {
                    let Some(ix) = (x0 + kx).checked_sub(c.pads[1]) else {
                        continue;
                    };
                    if ix < a.w {
                        dst[kx * a.c..][..a.c]
                            .copy_from_slice(&a.data[(iy * a.w + ix) * a.c..][..a.c]);
                    }
                }
            }
        }
    }
    out
}

/// Depthwise convolution: each channel with its own k×k kernel.
fn depthwise(a: &Value, c: &Conv) -> Value {
    assert_eq!(a.c, c.cout, "depthwise input channels");
    let oh = out_size(a.h, c.k[0], c.stride, c.pads[0], c.pads[2]);
    let ow = out_size(a.w, c.k[1], c.stride, c.pads[1], c.pads[3]);
    let mut data = vec![0.0; oh * ow * a.c];
    kernels::depthwise(a, c, ow, &mut data);
    Value {
        h: oh,
        w: ow,
        c: a.c,
        data,
    }
}

/// The two inner loops, compiled for AVX2 and FMA where the processor has them (chosen at run
/// time), else for the target's baseline. Both give the same results up to float rounding.
mod kernels {
    use super::{Conv, Value};

    /// Output channels per register.
    const LANES: usize = 8;
    /// Output pixels per tile.
    const PIXELS: usize = 4;
    /// Whether the baseline target multiplies and adds in one instruction (on x86-64 without
    /// FMA, `mul_add` is a library call per value).
    const BASELINE_FMA: bool = cfg!(any(target_arch = "aarch64", target_feature = "fma"));

    /// `a · b + c`, fused or not.
    #[inline(always)]
    fn madd<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
        if FUSED { a.mul_add(b, c) } else { a * b + c }
    }

    /// `cout` rounded up to whole registers.
    pub fn padded(cout: usize) -> usize {
        cout.div_ceil(LANES) * LANES
    }

    /// `out[p][co] = bias[co] + Σ_k rows[p][k] · weights[k][co]` for `co < cout`; the
    /// weights and bias are padded to [`padded`]`(cout)` columns.
    pub fn gemm(
        rows: &[f32],
        k: usize,
        weights: &[f32],
        bias: &[f32],
        cout: usize,
        out: &mut [f32],
    ) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the processor has the features the function is compiled for.
            unsafe { gemm_avx2(rows, k, weights, bias, cout, out) };
            return;
        }
        gemm_body::<BASELINE_FMA>(rows, k, weights, bias, cout, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn gemm_avx2(
        rows: &[f32],
        k: usize,
        weights: &[f32],
        bias: &[f32],
        cout: usize,
        out: &mut [f32],
    ) {
        gemm_body::<true>(rows, k, weights, bias, cout, out);
    }

    #[inline(always)]
    fn gemm_body<const FUSED: bool>(
        rows: &[f32],
        k: usize,
        weights: &[f32],
        bias: &[f32],
        cout: usize,
        out: &mut [f32],
    ) {
        let cpad = bias.len();
        let pixels = rows.len() / k;
        debug_assert_eq!(weights.len(), k * cpad);
        let mut p = 0;
        while p < pixels {
            let n = PIXELS.min(pixels - p);
            let mut a = [&rows[..0]; PIXELS];
            for (i, r) in a.iter_mut().enumerate() {
                *r = &rows[(p + i.min(n - 1)) * k..][..k];
            }
            let mut co = 0;
            while co + 2 * LANES <= cpad {
                tile::<2, FUSED>(&a, n, k, weights, bias, co, cout, &mut out[p * cout..]);
                co += 2 * LANES;
            }
            if co < cpad {
                tile::<1, FUSED>(&a, n, k, weights, bias, co, cout, &mut out[p * cout..]);
            }
            p += n;
        }
    }

    /// `PIXELS` output pixels' channels `co..co + B · LANES` (`n` of the pixels are real; the
    /// rest repeat the last): `PIXELS · B` independent sums, enough to keep both FMA units busy.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn tile<const B: usize, const FUSED: bool>(
        a: &[&[f32]; PIXELS],
        n: usize,
        k: usize,
        weights: &[f32],
        bias: &[f32],
        co: usize,
        cout: usize,
        out: &mut [f32],
    ) {
        let cpad = bias.len();
        let mut acc = [[[0.0f32; LANES]; B]; PIXELS];
        for px in &mut acc {
            for (b, reg) in px.iter_mut().enumerate() {
                reg.copy_from_slice(&bias[co + b * LANES..][..LANES]);
            }
        }
        let rows = a[0][..k]
            .iter()
            .zip(&a[1][..k])
            .zip(&a[2][..k])
            .zip(&a[3][..k]);
        for (wrow, (((&v0, &v1), &v2), &v3)) in weights.chunks_exact(cpad).zip(rows) {
            let w = &wrow[co..co + B * LANES];
            for (px, v) in acc.iter_mut().zip([v0, v1, v2, v3]) {
                for (reg, wr) in px.iter_mut().zip(w.chunks_exact(LANES)) {
                    for (o, &wt) in reg.iter_mut().zip(wr) {
                        *o = madd::<FUSED>(v, wt, *o);
                    }
                }
            }
        }
        for (i, px) in acc.iter().take(n).enumerate() {
            for (b, reg) in px.iter().enumerate() {
                let c0 = co + b * LANES;
                if c0 < cout {
                    let m = LANES.min(cout - c0);
                    out[i * cout + c0..][..m].copy_from_slice(&reg[..m]);
                }
            }
        }
    }

    /// Negative values times their channel's slope, in place, a register at a time.
    pub fn prelu(data: &mut [f32], slopes: &[f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has the feature the function is compiled for.
            unsafe { prelu_avx2(data, slopes) };
            return;
        }
        prelu_body(data, slopes);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn prelu_avx2(data: &mut [f32], slopes: &[f32]) {
        prelu_body(data, slopes);
    }

    #[inline(always)]
    fn prelu_body(data: &mut [f32], slopes: &[f32]) {
        // Without a branch (which mispredicts on every other value): the positive part plus
        // the slope times the negative part, which is one of the two exactly.
        let leaky = |v: f32, s: f32| v.max(0.0) + s * v.min(0.0);
        for px in data.chunks_exact_mut(slopes.len()) {
            let mut vs = px.chunks_exact_mut(LANES);
            let mut ss = slopes.chunks_exact(LANES);
            for (v, s) in (&mut vs).zip(&mut ss) {
                let v: &mut [f32; LANES] = v.try_into().expect("a whole register");
                let s: &[f32; LANES] = s.try_into().expect("a whole register");
                for i in 0..LANES {
                    v[i] = leaky(v[i], s[i]);
                }
            }
            for (v, &s) in vs.into_remainder().iter_mut().zip(ss.remainder()) {
                *v = leaky(*v, s);
            }
        }
    }

    /// Each output pixel: the bias, plus per tap the input pixel's channels times the tap's.
    pub fn depthwise(a: &Value, c: &Conv, ow: usize, out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the processor has the features the function is compiled for.
            unsafe { depthwise_avx2(a, c, ow, out) };
            return;
        }
        depthwise_body::<BASELINE_FMA>(a, c, ow, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn depthwise_avx2(a: &Value, c: &Conv, ow: usize, out: &mut [f32]) {
        depthwise_body::<true>(a, c, ow, out);
    }

    #[inline(always)]
    fn depthwise_body<const FUSED: bool>(a: &Value, c: &Conv, ow: usize, out: &mut [f32]) {
        let (kw, stride, left) = (c.k[1], c.stride, c.pads[1]);
        // Whether every tap of column `ox` lies inside.
        let whole = |ox: usize| ox * stride >= left && ox * stride + kw <= a.w + left;
        for (oy, row) in out.chunks_exact_mut(ow * a.c).enumerate() {
            let mut ox = 0;
            while ox < ow {
                // Where [`PIXELS`] neighbours share their taps, their sums run side by side
                // (one sum alone waits on the last multiply-add at every tap); else one pixel.
                if ox + PIXELS <= ow && whole(ox) && whole(ox + PIXELS - 1) {
                    depthwise_pixels::<PIXELS, FUSED>(a, c, oy, ox, row);
                    ox += PIXELS;
                } else {
                    depthwise_pixels::<1, FUSED>(a, c, oy, ox, row);
                    ox += 1;
                }
            }
        }
    }

    /// Outputs `ox..ox + N` of row `oy` (which share their taps' columns), a register of
    /// channels at a time; each output takes its taps in the order (ky, kx).
    #[inline(always)]
    fn depthwise_pixels<const N: usize, const FUSED: bool>(
        a: &Value,
        c: &Conv,
        oy: usize,
        ox: usize,
        row: &mut [f32],
    ) {
        let [kh, kw] = c.k;
        let (ch, stride, [top, left, ..]) = (a.c, c.stride, c.pads);
        // The taps `k` of an output at `o` whose input `o · stride + k − before` lies inside.
        let inside = |o: usize, k: usize, before: usize, len: usize| {
            let start = o * stride;
            (before.saturating_sub(start)..k.min((len + before).saturating_sub(start)))
                .map(move |k| (k, start + k - before))
        };
        let pixels = &mut row[ox * ch..][..N * ch];
        let groups = ch / LANES * LANES;
        for g in (0..groups).step_by(LANES) {
            let bias: [f32; LANES] = c.bias[g..g + LANES].try_into().expect("a register");
            let mut acc = [bias; N];
            for (ky, iy) in inside(oy, kh, top, a.h) {
                let input = &a.data[iy * a.w * ch..][..a.w * ch];
                for (kx, ix) in inside(ox, kw, left, a.w) {
                    let w: &[f32; LANES] = c.weights[(ky * kw + kx) * ch + g..][..LANES]
                        .try_into()
                        .expect("a register");
                    for (p, acc) in acc.iter_mut().enumerate() {
                        let x: &[f32; LANES] = input[(ix + p * stride) * ch + g..][..LANES]
                            .try_into()
                            .expect("a register");
                        for i in 0..LANES {
                            acc[i] = madd::<FUSED>(x[i], w[i], acc[i]);
                        }
                    }
                }
            }
            for (p, acc) in acc.iter().enumerate() {
                pixels[p * ch + g..][..LANES].copy_from_slice(acc);
            }
        }
        for (p, px) in pixels.chunks_exact_mut(ch).enumerate() {
            for (ci, v) in px.iter_mut().enumerate().skip(groups) {
                let mut acc = c.bias[ci];
                for (ky, iy) in inside(oy, kh, top, a.h) {
                    for (kx, ix) in inside(ox + p, kw, left, a.w) {
                        let x = a.data[(iy * a.w + ix) * ch + ci];
                        acc = madd::<FUSED>(x, c.weights[(ky * kw + kx) * ch + ci], acc);
                    }
                }
                *v = acc;
            }
        }
    }
}

/// A k×k transposed convolution with stride k: each input pixel paints a k×k block.
fn upsample(a: &Value, c: &Conv) -> Value {
    assert_eq!(a.c, c.cin, "ConvTranspose's input channels");
    let k = c.k[0];
    let (oh, ow, co_n) = (a.h * k, a.w * k, c.cout);
    let w = &c.weights;
    let mut data = vec![0.0; oh * ow * co_n];
    for (i, px) in a.data.chunks_exact(a.c).enumerate() {
        let (y, x) = (i / a.w, i % a.w);
        for t in 0..k * k {
            let (dy, dx) = (t / k, t % k);
            let out = &mut data[((y * k + dy) * ow + x * k + dx) * co_n..][..co_n];
            for (co, o) in out.iter_mut().enumerate() {
                let taps = &w[(t * co_n + co) * c.cin..][..c.cin];
                *o = c.bias[co] + px.iter().zip(taps).map(|(v, wt)| v * wt).sum::<f32>();
            }
        }
    }
    Value {
        h: oh,
        w: ow,
        c: co_n,
        data,
    }
}

/// Bilinear resampling to twice the size, half-pixel centres, edges clamped.
fn resize2(a: &Value) -> Value {
    let (oh, ow, ch) = (a.h * 2, a.w * 2, a.c);
    let taps = |o: usize, n: usize| {
        let x = ((o as f32 + 0.5) / 2.0 - 0.5).max(0.0);
        let i0 = (x as usize).min(n - 1);
        (i0, (i0 + 1).min(n - 1), x - i0 as f32)
    };
    let mut data = Vec::with_capacity(oh * ow * ch);
    for oy in 0..oh {
        let (y0, y1, fy) = taps(oy, a.h);
        for ox in 0..ow {
            let (x0, x1, fx) = taps(ox, a.w);
            let p = |y: usize, x: usize| &a.data[(y * a.w + x) * ch..][..ch];
            let (p00, p01, p10, p11) = (p(y0, x0), p(y0, x1), p(y1, x0), p(y1, x1));
            data.extend((0..ch).map(|k| {
                let top = p00[k] + (p01[k] - p00[k]) * fx;
                let bot = p10[k] + (p11[k] - p10[k]) * fx;
                top + (bot - top) * fy
            }));
        }
    }
    Value {
        h: oh,
        w: ow,
        c: ch,
        data,
    }
}

fn max_pool(a: &Value) -> Value {
    let (oh, ow, ch) = (a.h / 2, a.w / 2, a.c);
    let mut data = Vec::with_capacity(oh * ow * ch);
    for oy in 0..oh {
        for ox in 0..ow {
            let p =
                |dy: usize, dx: usize| &a.data[((2 * oy + dy) * a.w + 2 * ox + dx) * ch..][..ch];
            let (p00, p01, p10, p11) = (p(0, 0), p(0, 1), p(1, 0), p(1, 1));
            data.extend((0..ch).map(|k| p00[k].max(p01[k]).max(p10[k].max(p11[k]))));
        }
    }
    Value {
        h: oh,
        w: ow,
        c: ch,
        data,
    }
}

fn pad_channels(a: &Value, extra: usize) -> Value {
    let c = a.c + extra;
    let mut data = Vec::with_capacity(a.h * a.w * c);
    for px in a.data.chunks_exact(a.c) {
        data.extend_from_slice(px);
        data.extend(std::iter::repeat_n(0.0, extra));
    }
    Value { c, data, ..*a }
}

#[cfg(test)]
mod tests {
    use super::proto::{Attribute, Graph as G, Node as N, Tensor as T};
    use super::*;

    fn node(op: &str, inputs: &[&str], output: &str, attributes: Vec<Attribute>) -> N {
        N {
            name: output.into(),
            op_type: op.into(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: vec![output.into()],
            attributes,
        }
    }

    fn ints(name: &str, v: &[i64]) -> Attribute {
        Attribute {
            name: name.into(),
            ints: v.to_vec(),
            ..Attribute::default()
        }
    }

    fn text(name: &str, v: &str) -> Attribute {
        Attribute {
            name: name.into(),
            s: v.as_bytes().to_vec(),
            ..Attribute::default()
        }
    }

    fn floats(name: &str, dims: &[i64], v: &[f32]) -> T {
        T {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: 1,
            floats: v.to_vec(),
            ..T::default()
        }
    }

    /// NHWC in; to NCHW; a 1×1 convolution of 2 channels to 1 (weights 1 and 10, bias −15);
    /// ReLU; back to NHWC.
    fn small(conv_attrs: Vec<Attribute>, back: &[i64]) -> G {
        G {
            nodes: vec![
                node("Transpose", &["x"], "a", vec![ints("perm", &[0, 3, 1, 2])]),
                node("Conv", &["a", "w", "b"], "c", conv_attrs),
                node("Relu", &["c"], "d", vec![]),
                node("Transpose", &["d"], "y", vec![ints("perm", back)]),
            ],
            initializers: vec![
                floats("w", &[1, 2, 1, 1], &[1.0, 10.0]),
                floats("b", &[1], &[-15.0]),
            ],
            inputs: vec!["x".into(), "w".into(), "b".into()],
            outputs: vec!["y".into()],
        }
    }

    #[test]
    fn a_small_graph_runs_channels_last() {
        let g = Graph::from_proto(&small(vec![], &[0, 2, 3, 1])).expect("loads");
        // 2×2 pixels of (first, second) channel.
        let x = vec![1.0, 1.0, 2.0, 1.0, 0.0, 2.0, 5.0, 0.0];
        let y = g.run(2, 2, x);
        assert_eq!(y, vec![vec![0.0, 0.0, 5.0, 0.0]]);
    }

    #[test]
    fn what_it_cannot_run_exactly_does_not_load() {
        // A transpose from the layout it does not expect.
        assert!(Graph::from_proto(&small(vec![], &[0, 3, 1, 2])).is_err());
        // Automatic padding.
        assert!(
            Graph::from_proto(&small(vec![text("auto_pad", "SAME_UPPER")], &[0, 2, 3, 1])).is_err()
        );
        // Dilation.
        assert!(
            Graph::from_proto(&small(vec![ints("dilations", &[2, 2])], &[0, 2, 3, 1])).is_err()
        );
        // An operation it does not know.
        let mut g = small(vec![], &[0, 2, 3, 1]);
        g.nodes[2].op_type = "Elu".into();
        assert!(Graph::from_proto(&g).is_err());
        // A weight tensor whose data does not fill its dimensions.
        let mut g = small(vec![], &[0, 2, 3, 1]);
        g.initializers[0].dims = vec![1, 3, 1, 1];
        assert!(Graph::from_proto(&g).is_err());
        // A weight size of 0 (nothing to read, and a bias for any count).
        let mut g = small(vec![], &[0, 2, 3, 1]);
        g.initializers[0].dims = vec![1, 2, 0, 1];
        g.initializers[0].floats.clear();
        assert!(Graph::from_proto(&g).is_err());
        // A channels-first output.
        let mut g = small(vec![], &[0, 2, 3, 1]);
        g.nodes.pop();
        g.outputs = vec!["d".into()];
        assert!(Graph::from_proto(&g).is_err());
    }

    #[test]
    fn depthwise_sums_every_tap_inside_on_ragged_sizes() {
        // 13 channels (one register and 5 more), widths that leave pixels over after the
        // blocks of 4, both strides, and padding on either side or none.
        let v = |i: usize| ((i * 37 % 101) as f32 - 50.0) / 25.0;
        for (h, w, stride, pads) in [
            (5, 11, 1, [1, 1, 1, 1]),
            (6, 9, 2, [0, 0, 1, 1]),
            (7, 10, 2, [1, 1, 1, 1]),
            (4, 6, 1, [0, 0, 0, 0]),
        ] {
            let ch = 13;
            let a = Value {
                h,
                w,
                c: ch,
                data: (0..h * w * ch).map(v).collect(),
            };
            let c = Conv {
                weights: (0..9 * ch).map(|i| v(i + 7)).collect(),
                bias: (0..ch).map(|i| v(i + 91)).collect(),
                cin: ch,
                cout: ch,
                k: [3, 3],
                stride,
                pads,
            };
            let got = depthwise(&a, &c);
            let (oh, ow) = (got.h, got.w);
            assert_eq!(oh, out_size(h, 3, stride, pads[0], pads[2]));
            for oy in 0..oh {
                for ox in 0..ow {
                    for ci in 0..ch {
                        let mut want = c.bias[ci];
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let (iy, ix) = (
                                    (oy * stride + ky) as isize - pads[0] as isize,
                                    (ox * stride + kx) as isize - pads[1] as isize,
                                );
                                if (0..h as isize).contains(&iy) && (0..w as isize).contains(&ix) {
                                    let x = a.data[(iy as usize * w + ix as usize) * ch + ci];
                                    want += x * c.weights[(ky * 3 + kx) * ch + ci];
                                }
                            }
                        }
                        let o = got.data[(oy * ow + ox) * ch + ci];
                        assert!(
                            (o - want).abs() < 1e-4,
                            "{h}×{w} stride {stride} pads {pads:?}: ({oy}, {ox}, {ci}) {o} ≠ {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn prelu_scales_only_negative_values_by_their_channel() {
        let slopes: Vec<f32> = (0..11).map(|c| 0.1 * c as f32).collect();
        let data: Vec<f32> = (0..33).map(|i| (i as f32 - 16.0) * 0.5).collect();
        let mut out = data.clone();
        kernels::prelu(&mut out, &slopes);
        for (i, (&o, &x)) in out.iter().zip(&data).enumerate() {
            let want = if x < 0.0 { x * slopes[i % 11] } else { x };
            // Equal as numbers (a zero slope may give +0 where the product gives −0).
            assert_eq!(o, want, "value {i}");
        }
    }

    #[test]
    fn both_kernels_agree_on_ragged_sizes() {
        // 7 pixels (not a multiple of the tile's 4), 13 output channels (not a multiple of 8).
        let (pixels, k, cout) = (7, 5, 13);
        let cpad = kernels::padded(cout);
        let v = |i: usize| ((i * 37 % 101) as f32 - 50.0) / 25.0;
        let rows: Vec<f32> = (0..pixels * k).map(v).collect();
        let mut weights = vec![0.0; k * cpad];
        for kk in 0..k {
            for co in 0..cout {
                weights[kk * cpad + co] = v(kk * 13 + co + 3);
            }
        }
        let mut bias: Vec<f32> = (0..cout).map(|c| v(c + 91)).collect();
        bias.resize(cpad, 0.0);
        let mut out = vec![f32::NAN; pixels * cout];
        kernels::gemm(&rows, k, &weights, &bias, cout, &mut out);
        for p in 0..pixels {
            for co in 0..cout {
                let want = bias[co]
                    + (0..k)
                        .map(|kk| rows[p * k + kk] * weights[kk * cpad + co])
                        .sum::<f32>();
                assert!(
                    (out[p * cout + co] - want).abs() < 1e-4,
                    "pixel {p}, channel {co}"
                );
            }
        }
    }
}
