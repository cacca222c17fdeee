//! The part of ONNX's file format that the face models use, read straight from protobuf's
//! wire format: the graph's nodes with their attributes, the constant tensors, and the names of
//! the inputs and outputs.
//!
//! Field numbers are those of `onnx/onnx.proto` (ONNX 1.x, stable since IR version 3):
//! <https://github.com/onnx/onnx/blob/main/onnx/onnx.proto>. Wire format:
//! <https://protobuf.dev/programming-guides/encoding/>.

/// `GraphProto`, reduced.
#[derive(Debug, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub initializers: Vec<Tensor>,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

/// `NodeProto`, reduced.
#[derive(Debug, Default)]
pub struct Node {
    pub name: String,
    pub op_type: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: Vec<Attribute>,
}

/// `AttributeProto`: the scalar, string and integer-list forms.
#[derive(Debug, Default)]
pub struct Attribute {
    pub name: String,
    pub f: f32,
    pub i: i64,
    pub s: Vec<u8>,
    pub ints: Vec<i64>,
}

/// `TensorProto`: float and 64-bit integer data, inline or raw (little-endian).
#[derive(Debug, Default)]
pub struct Tensor {
    pub name: String,
    pub dims: Vec<i64>,
    /// `TensorProto.DataType`: 1 is float32, 7 is int64.
    pub data_type: i32,
    pub floats: Vec<f32>,
    pub ints: Vec<i64>,
    pub raw: Vec<u8>,
}

/// `TensorProto.DataType.FLOAT`.
const FLOAT: i32 = 1;
/// `TensorProto.DataType.INT64`.
const INT64: i32 = 7;

impl Tensor {
    /// The number of values its dimensions hold.
    fn count(&self) -> Option<usize> {
        self.dims
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))
    }

    /// The values as floats: a float32 tensor with as many values as its dimensions say.
    pub fn f32s(&self) -> Result<Vec<f32>, Malformed> {
        if self.data_type != FLOAT {
            return Err(Malformed("a tensor is not float32"));
        }
        if !self.raw.len().is_multiple_of(4) {
            return Err(Malformed("a tensor's raw data is not whole float32 values"));
        }
        let v: Vec<f32> = if self.floats.is_empty() {
            self.raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        } else {
            self.floats.clone()
        };
        if Some(v.len()) != self.count() {
            return Err(Malformed("a tensor's data does not fill its dimensions"));
        }
        Ok(v)
    }

    /// The values as 64-bit integers: an int64 tensor with as many values as its dimensions
    /// say.
    pub fn i64s(&self) -> Result<Vec<i64>, Malformed> {
        if self.data_type != INT64 {
            return Err(Malformed("a tensor is not int64"));
        }
        if !self.raw.len().is_multiple_of(8) {
            return Err(Malformed("a tensor's raw data is not whole int64 values"));
        }
        let v: Vec<i64> = if self.ints.is_empty() {
            self.raw
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect()
        } else {
            self.ints.clone()
        };
        if Some(v.len()) != self.count() {
            return Err(Malformed("a tensor's data does not fill its dimensions"));
        }
        Ok(v)
    }
}

/// A malformed file.
#[derive(Debug)]
pub struct Malformed(pub &'static str);

/// One field of a message.
enum Field<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64,
    Bytes(&'a [u8]),
}

/// The fields of one message, in order.
struct Fields<'a> {
    buf: &'a [u8],
}

fn varint(buf: &mut &[u8]) -> Result<u64, Malformed> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = buf.split_first().ok_or(Malformed("truncated varint"))?;
        *buf = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(Malformed("varint too long"))
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], Malformed> {
    if buf.len() < n {
        return Err(Malformed("truncated field"));
    }
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    Ok(head)
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Field<'a>), Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() {
            return None;
        }
        let mut read = || {
            let key = varint(&mut self.buf)?;
            let field = match key & 7 {
                0 => Field::Varint(varint(&mut self.buf)?),
                1 => {
                    take(&mut self.buf, 8)?;
                    Field::Fixed64
                }
                2 => {
                    let n = varint(&mut self.buf)? as usize;
                    Field::Bytes(take(&mut self.buf, n)?)
                }
                5 => {
                    let b = take(&mut self.buf, 4)?;
                    Field::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                }
                _ => return Err(Malformed("unknown wire type")),
            };
            Ok((key >> 3, field))
        };
        let item = read();
        if item.is_err() {
            self.buf = &[];
        }
        Some(item)
    }
}

fn fields(buf: &[u8]) -> Fields<'_> {
    Fields { buf }
}

fn string(b: &[u8]) -> Result<String, Malformed> {
    String::from_utf8(b.to_vec()).map_err(|_| Malformed("a name is not UTF-8"))
}

/// A repeated integer field, packed or not.
fn push_ints(out: &mut Vec<i64>, f: Field<'_>) -> Result<(), Malformed> {
    match f {
        Field::Varint(v) => out.push(v as i64),
        Field::Bytes(mut b) => {
            while !b.is_empty() {
                out.push(varint(&mut b)? as i64);
            }
        }
        _ => return Err(Malformed("integers of the wrong wire type")),
    }
    Ok(())
}

/// A repeated float field, packed or not.
fn push_floats(out: &mut Vec<f32>, f: Field<'_>) -> Result<(), Malformed> {
    match f {
        Field::Fixed32(v) => out.push(f32::from_bits(v)),
        Field::Bytes(b) => out.extend(
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        ),
        _ => return Err(Malformed("floats of the wrong wire type")),
    }
    Ok(())
}

/// Reads a `ModelProto`'s graph.
pub fn read_model(buf: &[u8]) -> Result<Graph, Malformed> {
    for f in fields(buf) {
        if let (7, Field::Bytes(b)) = f? {
            return graph(b);
        }
    }
    Err(Malformed("no graph"))
}

fn graph(buf: &[u8]) -> Result<Graph, Malformed> {
    let mut g = Graph::default();
    for f in fields(buf) {
        match f? {
            (1, Field::Bytes(b)) => g.nodes.push(node(b)?),
            (5, Field::Bytes(b)) => g.initializers.push(tensor(b)?),
            (11, Field::Bytes(b)) => g.inputs.push(value_name(b)?),
            (12, Field::Bytes(b)) => g.outputs.push(value_name(b)?),
            _ => {}
        }
    }
    Ok(g)
}

fn value_name(buf: &[u8]) -> Result<String, Malformed> {
    for f in fields(buf) {
        if let (1, Field::Bytes(b)) = f? {
            return string(b);
        }
    }
    Err(Malformed("a value without a name"))
}

fn node(buf: &[u8]) -> Result<Node, Malformed> {
    let mut n = Node::default();
    for f in fields(buf) {
        match f? {
            (1, Field::Bytes(b)) => n.inputs.push(string(b)?),
            (2, Field::Bytes(b)) => n.outputs.push(string(b)?),
            (3, Field::Bytes(b)) => n.name = string(b)?,
            (4, Field::Bytes(b)) => n.op_type = string(b)?,
            (5, Field::Bytes(b)) => n.attributes.push(attribute(b)?),
            _ => {}
        }
    }
    Ok(n)
}

fn attribute(buf: &[u8]) -> Result<Attribute, Malformed> {
    let mut a = Attribute::default();
    for f in fields(buf) {
        match f? {
            (1, Field::Bytes(b)) => a.name = string(b)?,
            (2, Field::Fixed32(v)) => a.f = f32::from_bits(v),
            (3, Field::Varint(v)) => a.i = v as i64,
            (4, Field::Bytes(b)) => a.s = b.to_vec(),
            (8, f) => push_ints(&mut a.ints, f)?,
            _ => {}
        }
    }
    Ok(a)
}

fn tensor(buf: &[u8]) -> Result<Tensor, Malformed> {
    let mut t = Tensor::default();
    for f in fields(buf) {
        match f? {
            (1, f) => push_ints(&mut t.dims, f)?,
            (2, Field::Varint(v)) => t.data_type = v as i32,
            (4, f) => push_floats(&mut t.floats, f)?,
            (7, f) => push_ints(&mut t.ints, f)?,
            (8, Field::Bytes(b)) => t.name = string(b)?,
            (9, Field::Bytes(b)) => t.raw = b.to_vec(),
            _ => {}
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_packed_fields_read_back() {
        // Field 1 (dims), packed: 300 and 2; field 2 (data type) float; field 8 (name) "w";
        // field 4 (floats) unpacked: 1.5.
        let mut buf = vec![
            0x0a, 0x03, 0xac, 0x02, 0x02, 0x10, 0x01, 0x42, 0x01, b'w', 0x25,
        ];
        buf.extend_from_slice(&1.5f32.to_le_bytes());
        let t = tensor(&buf).expect("reads");
        assert_eq!(t.dims, [300, 2]);
        assert_eq!(t.name, "w");
        assert_eq!(t.floats, [1.5]);
        // One value where the dimensions promise 600: refused, not misread.
        assert!(t.f32s().is_err());
        assert!(t.i64s().is_err(), "not an int64 tensor");
        // Raw data of 1 float and 3 stray bytes.
        let t = Tensor {
            dims: vec![1],
            data_type: 1,
            raw: vec![0, 0, 192, 63, 7, 7, 7],
            ..Tensor::default()
        };
        assert!(t.f32s().is_err());
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        assert!(tensor(&[0x0a, 0x05, 0x01]).is_err());
        assert!(tensor(&[0x08, 0xff]).is_err());
        assert!(read_model(&[]).is_err());
    }
}
