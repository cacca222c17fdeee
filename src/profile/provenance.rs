//! Provenance carried into outputs: realskin never strips an AI label. The output keeps
//! the original's ICC, EXIF, IPTC, text and XMP; the XMP's IPTC DigitalSourceType becomes
//! `compositeWithTrainedAlgorithmicMedia` when realskin edits an AI original, and an
//! `xmpMM:History` entry names realskin's edit and version. A C2PA manifest cannot stay
//! valid after the pixels change, so it is not embedded: its bytes come back as the
//! payload of a `.c2pa` sidecar, with a note for the report.

use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer, XmlVersion};

use super::evidence::Verdict;
use super::names::digital_source_type;
use super::xmp::{self, NS_IPTC_EXT, NS_RDF, NS_ST_EVT, NS_XMP_MM};
use crate::meta::{EmbedMetadata, RawMetadata, set_exif_orientation};

/// The IPTC code realskin's edit of an AI original gets.
pub const COMPOSITE: &str =
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia";
/// The software agent prefix that marks realskin's history entries.
pub const AGENT: &str = "realskin";

/// realskin's edit, as it is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditInfo {
    /// realskin's version, e.g. `env!("CARGO_PKG_VERSION")`.
    pub version: String,
    /// What changed, e.g. "skin texture, upscaled 2x".
    pub changed: String,
    /// ISO 8601 time of the edit, if the caller wants it recorded.
    pub when: Option<String>,
    /// The pixels were rotated upright: the EXIF orientation becomes 1.
    pub pixels_upright: bool,
}

/// What to write into an output and beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputProvenance {
    /// Pass to [`crate::meta::embed_lossy`] with the encoded output.
    pub embed: EmbedMetadata,
    /// The original C2PA manifest store (JUMBF), to write as `<output>.c2pa` when
    /// `output.keep_c2pa_sidecar` is on.
    pub c2pa_sidecar: Option<Vec<u8>>,
    /// The DigitalSourceType written, if any.
    pub digital_source_type: Option<String>,
    /// Sentences for the report.
    pub notes: Vec<String>,
}

/// Builds the metadata for an output of realskin from its original's metadata.
pub fn output_provenance(
    original: &RawMetadata,
    verdict: &Verdict,
    edit: &EditInfo,
) -> OutputProvenance {
    let mut notes = Vec::new();
    let parsed = original.xmp.as_deref().map(xmp::parse);
    let old_dst = parsed
        .as_ref()
        .and_then(|(x, _)| x.get(NS_IPTC_EXT, "DigitalSourceType").map(str::to_string));
    let old_code = old_dst.as_deref().and_then(digital_source_type);
    let dst = match (&old_dst, &old_code) {
        (Some(_), Some((code, Some(true)))) if code == "trainedAlgorithmicMedia" => {
            notes.push(format!("DigitalSourceType {code} becomes compositeWithTrainedAlgorithmicMedia: realskin edited an AI original"));
            Some(COMPOSITE.to_string())
        }
        (Some(v), _) => Some(v.clone()),
        (None, _) if verdict.ai == Some(true) => {
            notes.push("DigitalSourceType compositeWithTrainedAlgorithmicMedia added: the original is AI-generated but carried no IPTC label".to_string());
            Some(COMPOSITE.to_string())
        }
        (None, _) => None,
    };
    let entry = History {
        action: "edited",
        agent: format!("{AGENT} {}", edit.version),
        changed: edit.changed.clone(),
        when: edit.when.clone(),
        parameters: original_generator(verdict),
    };
    let xmp = match original.xmp.as_deref() {
        Some(x) => match edit_xmp(x, dst.as_deref(), &entry) {
            Some(edited) => edited,
            None => {
                notes.push("the original XMP could not be edited (malformed); a new packet carries the AI label and history instead".to_string());
                fresh_xmp(dst.as_deref(), &entry)
            }
        },
        None => fresh_xmp(dst.as_deref(), &entry),
    };
    let exif = match (&original.exif, edit.pixels_upright, original.orientation) {
        (Some(e), true, Some(o)) if o != 1 => {
            Some(set_exif_orientation(e, 1).unwrap_or_else(|| e.clone()))
        }
        (e, _, _) => e.clone(),
    };
    let c2pa_sidecar = original.c2pa.clone();
    if c2pa_sidecar.is_some() {
        notes.push(
            "the original's C2PA manifest no longer matches the edited pixels, so it is not embedded; it is kept as a .c2pa sidecar when output.keep_c2pa_sidecar is on".to_string(),
        );
    }
    OutputProvenance {
        embed: EmbedMetadata {
            icc: original.icc.clone(),
            exif,
            xmp: Some(xmp),
            xmp_extended: original.xmp_extended.clone(),
            iptc: original.iptc.clone(),
            text: original.text.clone(),
        },
        c2pa_sidecar,
        digital_source_type: dst,
        notes,
    }
}

/// One `xmpMM:History` event.
struct History {
    action: &'static str,
    agent: String,
    changed: String,
    when: Option<String>,
    /// The original's generator, so that an output whose C2PA manifest went to a sidecar
    /// still names it.
    parameters: Option<String>,
}

/// "original ai=true; vendor=openai; model=GPT-4o; family=gpt-image; tool=chatgpt".
fn original_generator(v: &Verdict) -> Option<String> {
    let ai = v.ai?;
    let mut parts = vec![format!("original ai={ai}")];
    for (k, val) in [
        ("vendor", &v.vendor),
        ("model", &v.model),
        ("family", &v.family),
        ("tool", &v.tool),
    ] {
        if let Some(val) = val {
            parts.push(format!("{k}={}", val.replace(';', ",")));
        }
    }
    Some(parts.join("; "))
}

/// Reads back the `stEvt:parameters` that realskin writes into its history entry
/// ("original ai=true; vendor=…; model=…; family=…; tool=…").
pub fn parse_original(s: &str) -> Option<OriginalGenerator> {
    let rest = s.strip_prefix("original ")?;
    let mut o = OriginalGenerator::default();
    for part in rest.split("; ") {
        let (k, v) = part.split_once('=')?;
        let v = Some(v.trim().to_string());
        match k.trim() {
            "ai" => o.ai = v.and_then(|x| x.parse().ok()),
            "vendor" => o.vendor = v,
            "model" => o.model = v,
            "family" => o.family = v,
            "tool" => o.tool = v,
            _ => {}
        }
    }
    Some(o)
}

/// The original's generator as recorded in realskin's history entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OriginalGenerator {
    pub ai: Option<bool>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub family: Option<String>,
    pub tool: Option<String>,
}

fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

impl History {
    fn li(&self, rdf: &str) -> String {
        let mut s = format!(
            r#"<{rdf}:li {rdf}:parseType="Resource" xmlns:stEvt="{NS_ST_EVT}"><stEvt:action>{}</stEvt:action><stEvt:softwareAgent>{}</stEvt:softwareAgent><stEvt:changed>{}</stEvt:changed>"#,
            self.action,
            escape(&self.agent),
            escape(&self.changed)
        );
        if let Some(w) = &self.when {
            s.push_str(&format!("<stEvt:when>{}</stEvt:when>", escape(w)));
        }
        if let Some(p) = &self.parameters {
            s.push_str(&format!(
                "<stEvt:parameters>{}</stEvt:parameters>",
                escape(p)
            ));
        }
        s.push_str(&format!("</{rdf}:li>"));
        s
    }
}

fn fresh_xmp(dst: Option<&str>, h: &History) -> String {
    let dst_attr = dst
        .map(|d| {
            format!(
                r#" xmlns:Iptc4xmpExt="{NS_IPTC_EXT}" Iptc4xmpExt:DigitalSourceType="{}""#,
                escape(d)
            )
        })
        .unwrap_or_default();
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"{NS_RDF}\"><rdf:Description rdf:about=\"\"{dst_attr}><xmpMM:History xmlns:xmpMM=\"{NS_XMP_MM}\"><rdf:Seq>{}</rdf:Seq></xmpMM:History></rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end=\"w\"?>",
        h.li("rdf")
    )
}

type Scope = Vec<(String, String)>;

fn lookup<'a>(scopes: &'a [Scope], prefix: &str) -> Option<&'a str> {
    scopes
        .iter()
        .rev()
        .flat_map(|s| s.iter().rev())
        .find(|(p, _)| p == prefix)
        .map(|(_, u)| u.as_str())
}

fn resolve(scopes: &[Scope], qname: &str) -> (String, String) {
    let (prefix, local) = qname.split_once(':').unwrap_or(("", qname));
    (
        lookup(scopes, prefix).unwrap_or("").to_string(),
        local.to_string(),
    )
}

fn declare(e: &BytesStart) -> Scope {
    e.attributes()
        .flatten()
        .filter_map(|a| {
            let k = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .ok()?
                .into_owned();
            if k == "xmlns" {
                Some((String::new(), v))
            } else {
                k.strip_prefix("xmlns:").map(|p| (p.to_string(), v))
            }
        })
        .collect()
}

/// Edits an XMP packet: sets the DigitalSourceType (attribute or element form) and
/// appends a history entry. `None` when the packet is not well-formed XML.
fn edit_xmp(xml: &str, dst: Option<&str>, h: &History) -> Option<String> {
    let (props, warning) = xmp::parse(xml);
    if warning.is_some() {
        return None;
    }
    let mut reader = Reader::from_str(xml);
    let mut ed = XmpEditor {
        dst,
        h,
        has_dst: props.get(NS_IPTC_EXT, "DigitalSourceType").is_some(),
        has_history_seq: xml.contains("History") && xml.contains("Seq"),
        writer: Writer::new(Vec::with_capacity(xml.len() + 1024)),
        scopes: Vec::new(),
        stack: Vec::new(),
        desc_seen: false,
        history_written: false,
        in_dst_element: false,
        rdf_prefix: "rdf".to_string(),
    };
    loop {
        let ev = reader.read_event().ok()?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                ed.start(e, empty)?;
            }
            Event::Text(ref t) if ed.in_dst_element && dst.is_some() => {
                let _ = t;
                ed.writer
                    .write_event(Event::Text(BytesText::new(dst.unwrap_or_default())))
                    .ok()?;
            }
            Event::GeneralRef(_) if ed.in_dst_element && dst.is_some() => {}
            Event::End(ref e) => ed.end(e)?,
            Event::Eof => break,
            other => ed.writer.write_event(other).ok()?,
        }
    }
    if !ed.history_written {
        return None;
    }
    // Only a result that reads back cleanly is used.
    let out = String::from_utf8(ed.writer.into_inner()).ok()?;
    xmp::parse(&out).1.is_none().then_some(out)
}

/// The state of [`edit_xmp`] as it copies a packet event by event.
struct XmpEditor<'a> {
    /// The DigitalSourceType to set, if any.
    dst: Option<&'a str>,
    /// The history entry to append.
    h: &'a History,
    /// The packet already has a DigitalSourceType.
    has_dst: bool,
    /// The packet seems to have an `xmpMM:History` sequence to append to.
    has_history_seq: bool,
    writer: Writer<Vec<u8>>,
    /// Namespace declarations of the open elements.
    scopes: Vec<Scope>,
    /// (namespace, local name) of the open elements.
    stack: Vec<(String, String)>,
    desc_seen: bool,
    history_written: bool,
    in_dst_element: bool,
    rdf_prefix: String,
}

impl XmpEditor<'_> {
    /// Copies a start (or empty) element, rewriting a Description's attributes and
    /// opening a new History inside the first Description when the packet has none.
    fn start(&mut self, e: &BytesStart, empty: bool) -> Option<()> {
        self.scopes.push(declare(e));
        let qname = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        let (ns, local) = resolve(&self.scopes, &qname);
        if ns == NS_RDF
            && let Some((p, _)) = qname.split_once(':')
        {
            self.rdf_prefix = p.to_string();
        }
        let is_desc = ns == NS_RDF && local == "Description";
        let mut out = e.to_owned();
        if is_desc {
            self.description_attributes(e, &mut out);
        }
        let first_desc = is_desc && !self.desc_seen;
        if is_desc {
            self.desc_seen = true;
        }
        if first_desc && !self.has_history_seq {
            // A new History as the first child of the first Description.
            self.writer.write_event(Event::Start(out.borrow())).ok()?;
            let hist = format!(
                r#"<xmpMM:History xmlns:xmpMM="{NS_XMP_MM}"><{rdf}:Seq>{}</{rdf}:Seq></xmpMM:History>"#,
                self.h.li(&self.rdf_prefix),
                rdf = self.rdf_prefix
            );
            self.writer.get_mut().extend_from_slice(hist.as_bytes());
            self.history_written = true;
            if empty {
                self.writer
                    .write_event(Event::End(BytesEnd::new(qname.clone())))
                    .ok()?;
                self.scopes.pop();
            } else {
                self.stack.push((ns, local));
            }
            return Some(());
        }
        if empty {
            self.writer.write_event(Event::Empty(out.borrow())).ok()?;
            self.scopes.pop();
        } else {
            self.in_dst_element = ns == NS_IPTC_EXT && local == "DigitalSourceType";
            self.writer.write_event(Event::Start(out.borrow())).ok()?;
            self.stack.push((ns, local));
        }
        Some(())
    }

    /// Sets the attributes of a Description `e` on its copy `out`, with the
    /// DigitalSourceType replaced or added.
    fn description_attributes(&self, e: &BytesStart, out: &mut BytesStart) {
        let dst = self.dst;
        let scopes = &self.scopes;
        // Rewrite an attribute-form DigitalSourceType; add one to the first
        // Description when the packet has none.
        // Attributes are copied as written (escaped), except the one replaced.
        let mut attrs: Vec<(String, String)> = Vec::new();
        let mut kept = Vec::new();
        for a in e.attributes().flatten() {
            let k = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            let (ans, al) = resolve(scopes, &k);
            match dst {
                Some(d) if ans == NS_IPTC_EXT && al == "DigitalSourceType" => {
                    attrs.push((k, d.to_string()))
                }
                _ => kept.push(a),
            }
        }
        if !self.desc_seen
            && !self.has_dst
            && let Some(d) = dst
        {
            let prefix = match lookup(scopes, "Iptc4xmpExt") {
                Some(u) if u == NS_IPTC_EXT => "Iptc4xmpExt",
                Some(_) => "rsIptcExt",
                None => "Iptc4xmpExt",
            };
            if lookup(scopes, prefix) != Some(NS_IPTC_EXT) {
                attrs.push((format!("xmlns:{prefix}"), NS_IPTC_EXT.to_string()));
            }
            attrs.push((format!("{prefix}:DigitalSourceType"), d.to_string()));
        }
        out.clear_attributes();
        for a in kept {
            out.push_attribute(a);
        }
        for (k, v) in &attrs {
            out.push_attribute((k.as_str(), v.as_str()));
        }
    }

    /// Copies an end element, first appending the history entry to an existing History
    /// sequence that it closes.
    fn end(&mut self, e: &BytesEnd) -> Option<()> {
        self.in_dst_element = false;
        let closing = self.stack.pop();
        // Append to an existing History sequence, before it closes.
        if let Some((ns, local)) = &closing {
            let parent_is_history = self
                .stack
                .last()
                .is_some_and(|(pn, pl)| pn == NS_XMP_MM && pl == "History");
            if ns == NS_RDF && local == "Seq" && parent_is_history && !self.history_written {
                self.writer
                    .get_mut()
                    .extend_from_slice(self.h.li(&self.rdf_prefix).as_bytes());
                self.history_written = true;
            }
        }
        self.scopes.pop();
        self.writer.write_event(Event::End(e.borrow())).ok()?;
        Some(())
    }
}

/// realskin's edit as recognised in a file's XMP history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RealskinEdit {
    /// The software agent, e.g. "realskin 0.1.0".
    pub agent: String,
    pub changed: Option<String>,
    pub when: Option<String>,
    /// The original's generator, as realskin recorded it.
    pub original: Option<OriginalGenerator>,
}

/// Finds realskin's entries in an XMP history (the last one wins).
pub fn realskin_edit(x: &xmp::Xmp) -> Option<RealskinEdit> {
    // History fields come in document order; group them per event by position.
    let mut found = None;
    let mut current: Option<RealskinEdit> = None;
    for p in x.props.iter().filter(|p| p.ns == NS_ST_EVT) {
        match p.name.as_str() {
            "action" => {
                if let Some(c) = current.take() {
                    found = Some(c);
                }
            }
            "softwareAgent" if p.value.starts_with(AGENT) => {
                current = Some(RealskinEdit {
                    agent: p.value.clone(),
                    changed: None,
                    when: None,
                    original: None,
                });
            }
            "changed" => {
                if let Some(c) = current.as_mut() {
                    c.changed = Some(p.value.clone());
                }
            }
            "parameters" => {
                if let Some(c) = current.as_mut() {
                    c.original = parse_original(&p.value);
                }
            }
            "when" => {
                if let Some(c) = current.as_mut() {
                    c.when = Some(p.value.clone());
                }
            }
            _ => {}
        }
    }
    current.or(found)
}
