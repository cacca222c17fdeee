//! XMP as a flat list of properties (namespace URI, local name, value), read with
//! quick-xml from both the attribute form (`<rdf:Description ns:prop="v"/>`) and the
//! element form (`<ns:prop>v</ns:prop>`, `rdf:Alt`/`rdf:Seq` items, structs).

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

pub const NS_RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
pub const NS_IPTC_EXT: &str = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/";
pub const NS_XMP: &str = "http://ns.adobe.com/xap/1.0/";
pub const NS_XMP_MM: &str = "http://ns.adobe.com/xap/1.0/mm/";
pub const NS_ST_EVT: &str = "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#";
pub const NS_DC: &str = "http://purl.org/dc/elements/1.1/";
pub const NS_PHOTOSHOP: &str = "http://ns.adobe.com/photoshop/1.0/";
pub const NS_EXIF: &str = "http://ns.adobe.com/exif/1.0/";
pub const NS_TIFF: &str = "http://ns.adobe.com/tiff/1.0/";

const MAX_PROPS: usize = 20_000;
const MAX_VALUE: usize = 1 << 20;
const MAX_DEPTH: usize = 256;

/// One XMP property value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmpProp {
    pub ns: String,
    pub name: String,
    pub value: String,
}

/// The properties of one XMP packet, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Xmp {
    pub props: Vec<XmpProp>,
}

impl Xmp {
    /// Every value of `ns:name`.
    pub fn all<'a>(&'a self, ns: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.props
            .iter()
            .filter(move |p| p.ns == ns && p.name == name)
            .map(|p| p.value.as_str())
    }

    /// The first value of `ns:name`.
    pub fn get(&self, ns: &str, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|p| p.ns == ns && p.name == name)
            .map(|p| p.value.as_str())
    }
}

/// Prefix bindings declared on one element.
type Scope = Vec<(String, String)>;

fn resolve<'a>(scopes: &'a [Scope], qname: &'a str) -> (&'a str, &'a str) {
    let (prefix, local) = match qname.split_once(':') {
        Some((p, l)) => (p, l),
        None => ("", qname),
    };
    let ns = scopes
        .iter()
        .rev()
        .flat_map(|s| s.iter().rev())
        .find(|(p, _)| p == prefix)
        .map(|(_, uri)| uri.as_str())
        .unwrap_or("");
    (ns, local)
}

fn entity(name: &str) -> Option<String> {
    Some(match name {
        "amp" => "&".into(),
        "lt" => "<".into(),
        "gt" => ">".into(),
        "quot" => "\"".into(),
        "apos" => "'".into(),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix('x').or_else(|| num.strip_prefix('X')) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)?.to_string()
        }
    })
}

/// Parses an XMP packet. Malformed XML stops the parse; the properties read before it
/// are returned with a warning.
pub fn parse(xml: &str) -> (Xmp, Option<String>) {
    let mut reader = Reader::from_str(xml);
    let mut scopes: Vec<Scope> = Vec::new();
    // Open elements: (namespace, local name, text gathered).
    let mut open: Vec<(String, String, String)> = Vec::new();
    let mut xmp = Xmp::default();
    let mut warning = None;
    let mut bad_attribute = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                if open.len() >= MAX_DEPTH {
                    warning = Some("XMP is nested too deeply; the rest is ignored".to_string());
                    break;
                }
                let (ns, local) = open_element(&e, &mut scopes, &mut xmp, &mut bad_attribute);
                open.push((ns, local, String::new()));
            }
            Ok(Event::Empty(e)) => {
                open_element(&e, &mut scopes, &mut xmp, &mut bad_attribute);
                scopes.pop();
            }
            Ok(Event::Text(t)) => {
                if let (Some(last), Ok(s)) = (open.last_mut(), t.decode())
                    && last.2.len() < MAX_VALUE
                {
                    last.2.push_str(&s);
                }
            }
            Ok(Event::CData(t)) => {
                if let (Some(last), Ok(s)) = (open.last_mut(), t.decode()) {
                    last.2.push_str(&s);
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let (Some(last), Some(s)) =
                    (open.last_mut(), r.decode().ok().and_then(|n| entity(&n)))
                {
                    last.2.push_str(&s);
                }
            }
            Ok(Event::End(_)) => {
                scopes.pop();
                close_element(&mut open, &mut xmp);
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                warning = Some(format!(
                    "XMP is malformed at byte {} ({e}); the properties before it are used",
                    reader.buffer_position()
                ));
                break;
            }
        }
    }
    if bad_attribute && warning.is_none() {
        warning = Some("XMP has malformed attributes; the readable ones are used".to_string());
    }
    (xmp, warning)
}

/// Adds a property with its value trimmed and capped, unless the value is blank or the
/// packet already holds the most properties read.
fn push_prop(xmp: &mut Xmp, ns: &str, name: &str, value: &str) {
    if xmp.props.len() < MAX_PROPS && !value.trim().is_empty() {
        let mut v = value.trim().to_string();
        if v.len() > MAX_VALUE {
            let mut cut = MAX_VALUE;
            while !v.is_char_boundary(cut) {
                cut -= 1;
            }
            v.truncate(cut);
        }
        xmp.props.push(XmpProp {
            ns: ns.to_string(),
            name: name.to_string(),
            value: v,
        });
    }
}

/// Opens an element: pushes its namespace declarations onto `scopes`, adds its
/// attribute-form properties, and returns its (namespace, local name). Sets
/// `bad_attribute` when an attribute is malformed.
fn open_element(
    e: &BytesStart,
    scopes: &mut Vec<Scope>,
    xmp: &mut Xmp,
    bad_attribute: &mut bool,
) -> (String, String) {
    let mut scope = Scope::new();
    let mut attrs = Vec::new();
    if e.attributes().any(|a| a.is_err()) {
        *bad_attribute = true;
    }
    for a in e.attributes().flatten() {
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map(|v| v.into_owned())
            .unwrap_or_default();
        if key == "xmlns" {
            scope.push((String::new(), value));
        } else if let Some(p) = key.strip_prefix("xmlns:") {
            scope.push((p.to_string(), value));
        } else {
            attrs.push((key, value));
        }
    }
    scopes.push(scope);
    for (key, value) in attrs {
        let (ns, local) = resolve(scopes, &key);
        if ns != NS_RDF && !key.starts_with("xml:") {
            push_prop(xmp, ns, local, &value);
        }
    }
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let (ns, local) = resolve(scopes, &name);
    (ns.to_string(), local.to_string())
}

/// Closes the innermost open element, adding its gathered text as a property.
fn close_element(open: &mut Vec<(String, String, String)>, xmp: &mut Xmp) {
    if let Some((ns, local, text)) = open.pop()
        && !text.trim().is_empty()
    {
        // Text of an rdf:li or rdf:value belongs to the nearest property.
        let owner = if ns == NS_RDF {
            open.iter()
                .rev()
                .find(|(n, _, _)| n != NS_RDF)
                .map(|(n, l, _)| (n.clone(), l.clone()))
        } else {
            Some((ns, local))
        };
        if let Some((n, l)) = owner {
            push_prop(xmp, &n, &l, &text);
        }
    }
}
