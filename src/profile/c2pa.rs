//! C2PA through the official `c2pa` crate (pure Rust, offline): the manifest chain,
//! claim generators, actions (v1 and v2), ingredients and signer, turned into evidence.
//!
//! The innermost creation step wins over a wrapper: when an Adobe-signed manifest
//! records that Gemini "nano-banana-2" made the picture, the creator is Google and Adobe
//! appears as the wrapper. Signatures and content hashes are validated; trust in the
//! signer is not checked (no trust list is configured), and the summary says so.

use std::collections::HashSet;
use std::io::{Read, Seek};

use serde::Serialize;
use serde_json::Value;

use super::evidence::{Evidence, EvidenceSource};
use super::names::{digital_source_type, model_family, organisation, software};

/// What the C2PA manifest store says, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct C2paSummary {
    pub manifests: usize,
    /// Claim generator of the active manifest.
    pub claim_generator: Option<String>,
    /// Signer of the active manifest: certificate subject organisation and common name.
    pub signer: Option<String>,
    /// The c2pa crate's validation state: `valid` (signatures and hashes check out),
    /// `invalid`, or `unreadable`.
    pub validation: String,
    /// Whether the active manifest's claim signature was checked and found good.
    pub signature_verified: bool,
    /// Whether the content hashes match the pixels (false after any edit or re-save).
    pub content_matches: bool,
    /// Trust in the signer is never claimed: no trust list is configured.
    pub trust: &'static str,
    /// Validation failure codes of the active manifest.
    pub failures: Vec<String>,
    /// The chain, outermost (active) manifest first.
    pub chain: Vec<C2paStep>,
}

/// One manifest of the chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct C2paStep {
    pub claim_generator: Option<String>,
    pub signer: Option<String>,
    pub actions: Vec<String>,
}

#[cfg(feature = "c2pa")]
const SETTINGS: &str = r#"{"verify": {"verify_trust": false, "verify_timestamp_trust": false, "ocsp_fetch": false, "remote_manifest_fetch": false}}"#;

/// Without the `c2pa` feature a manifest is reported as present but unread.
#[cfg(not(feature = "c2pa"))]
pub fn read<R: Read + Seek + Send>(
    _mime: &str,
    _stream: R,
) -> Result<(C2paSummary, Vec<Evidence>), String> {
    Err(
        "a C2PA manifest is present, but this build has no C2PA reader (feature c2pa off)"
            .to_string(),
    )
}

/// Reads and validates the C2PA manifest store of a stream (the whole asset: content
/// hashes cover the pixels). Returns the summary and evidence, or a warning.
#[cfg(feature = "c2pa")]
pub fn read<R: Read + Seek + Send>(
    mime: &str,
    stream: R,
) -> Result<(C2paSummary, Vec<Evidence>), String> {
    let context = c2pa::Context::new()
        .with_settings(SETTINGS)
        .map_err(|e| format!("C2PA settings rejected: {e}"))?;
    // The c2pa crate is not fuzzed here: a panic inside it must not take the daemon down.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        c2pa::Reader::from_context(context).with_stream(mime, stream)
    }));
    let reader = match result {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            return Err(format!(
                "the C2PA manifest could not be read ({e}); it is ignored"
            ));
        }
        Err(_) => {
            return Err("the C2PA reader failed on this file; its manifest is ignored".to_string());
        }
    };
    let json: Value = serde_json::from_str(&reader.json()).unwrap_or(Value::Null);
    let state = format!("{:?}", reader.validation_state()).to_ascii_lowercase();
    Ok(analyse(&json, &state))
}

/// Builds the summary and evidence from a manifest store in the c2pa crate's JSON form.
pub fn analyse_store(store: &Value, state: &str) -> (C2paSummary, Vec<Evidence>) {
    analyse(store, state)
}

fn s(v: &Value, p: &str) -> Option<String> {
    v.pointer(p).and_then(Value::as_str).map(str::to_string)
}

fn generator(m: &Value) -> Option<String> {
    let infos: Vec<String> = m
        .get("claim_generator_info")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|i| {
                    let name = i.get("name")?.as_str()?;
                    Some(match i.get("version").and_then(Value::as_str) {
                        Some(v) => format!("{name} {v}"),
                        None => name.to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if !infos.is_empty() {
        Some(infos.join(", "))
    } else {
        s(m, "/claim_generator")
    }
}

fn signer(m: &Value) -> (Option<String>, Option<String>) {
    (
        s(m, "/signature_info/issuer"),
        s(m, "/signature_info/common_name"),
    )
}

/// One action of a `c2pa.actions` assertion.
struct Action {
    action: String,
    agent: Option<String>,
    dst: Option<String>,
    description: Option<String>,
    model_id: Option<String>,
    model_version: Option<String>,
    details: Option<String>,
}

fn actions(m: &Value) -> Vec<Action> {
    let mut out = Vec::new();
    for a in m
        .get("assertions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let label = a.get("label").and_then(Value::as_str).unwrap_or("");
        if !label.starts_with("c2pa.actions") {
            continue;
        }
        for act in a
            .pointer("/data/actions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .take(1000)
        {
            let agent = match act.get("softwareAgent") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(o) => o.get("name").and_then(Value::as_str).map(str::to_string),
                None => None,
            };
            let p = |k: &str| {
                act.get("parameters")
                    .and_then(|p| p.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            out.push(Action {
                action: act
                    .get("action")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                agent,
                dst: act
                    .get("digitalSourceType")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                description: act
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| p("description")),
                model_id: p("com.adobe.modelId"),
                model_version: p("com.adobe.modelVersion"),
                details: p("com.adobe.details"),
            });
        }
    }
    out
}

struct Step<'a> {
    manifest: &'a Value,
    depth: usize,
}

/// The manifests from the active one down through its ingredients, outermost first.
fn chain<'a>(store: &'a Value) -> Vec<Step<'a>> {
    let mut out = Vec::new();
    let Some(manifests) = store.get("manifests") else {
        return out;
    };
    let mut seen = HashSet::new();
    let mut todo: Vec<(String, usize)> = s(store, "/active_manifest")
        .map(|l| (l, 0))
        .into_iter()
        .collect();
    while let Some((label, depth)) = todo.pop() {
        if depth > 32 || out.len() > 256 || !seen.insert(label.clone()) {
            continue;
        }
        let Some(m) = manifests.get(&label) else {
            continue;
        };
        out.push(Step { manifest: m, depth });
        for ing in m
            .get("ingredients")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .rev()
        {
            if let Some(l) = ing.get("active_manifest").and_then(Value::as_str) {
                todo.push((l.to_string(), depth + 1));
            }
        }
    }
    out
}

fn is_creation(a: &Action) -> bool {
    a.action == "c2pa.created"
        || a.model_id.is_some()
        || a.dst
            .as_deref()
            .and_then(digital_source_type)
            .is_some_and(|(_, ai)| ai == Some(true))
}

fn analyse(store: &Value, state: &str) -> (C2paSummary, Vec<Evidence>) {
    let steps = chain(store);
    let summary = summarise(store, state, &steps);
    let signature_verified = summary.signature_verified;
    let sig_word = if signature_verified {
        "signature verified"
    } else {
        "signature not verified"
    };
    let active = steps.first().map(|s| s.manifest);

    let mut ev = Vec::new();
    let any_ai = steps.iter().any(|st| {
        actions(st.manifest).iter().any(|a| {
            a.model_id.is_some()
                || a.dst
                    .as_deref()
                    .and_then(digital_source_type)
                    .is_some_and(|(_, ai)| ai == Some(true))
        })
    });
    match innermost_creator(&steps) {
        Some((st, a)) => {
            let m = st.manifest;
            let creator_weight = if signature_verified { 0.95 } else { 0.9 };
            let (e, vendor) = creator_evidence(m, &a, any_ai, creator_weight, sig_word);
            ev.push(e);
            // Every other signer or generator is a wrapper around the creator.
            for other in steps.iter().filter(|o| !std::ptr::eq(o.manifest, m)) {
                wrapper(other.manifest, vendor, &mut ev);
            }
            wrapper_if_distinct(m, vendor, &mut ev);
        }
        None => {
            let (org, cn) = active.map(signer).unwrap_or((None, None));
            let gen_name = active.and_then(generator).unwrap_or_default();
            ev.push(
                Evidence::new(
                    EvidenceSource::C2pa,
                    format!(
                        "manifest by {}{} records no generative step; {sig_word}",
                        if gen_name.is_empty() { "?" } else { &gen_name },
                        join_signer(org, cn)
                            .map(|s| format!(", signed by {s}"))
                            .unwrap_or_default()
                    ),
                    if any_ai { 0.9 } else { 0.6 },
                )
                .ai(any_ai),
            );
        }
    }
    (summary, ev)
}

/// Builds the report summary: manifest count, active generator and signer, validation
/// results and the chain of steps.
fn summarise(store: &Value, state: &str, steps: &[Step]) -> C2paSummary {
    let failures: Vec<String> = store
        .pointer("/validation_results/activeManifest/failure")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.get("code").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    // The claim signature counts as verified unless validation reported it (or the
    // signing credential) bad. Trust in the credential is a separate, unchecked question.
    let signature_verified = !failures.iter().any(|c| {
        c.starts_with("claimSignature")
            || (c.starts_with("signingCredential") && c != "signingCredential.untrusted")
    });
    let content_matches = !failures
        .iter()
        .any(|c| c.contains("dataHash") || c.contains("boxesHash") || c.contains("bmffHash"));

    let summary_steps: Vec<C2paStep> = steps
        .iter()
        .map(|st| {
            let (org, cn) = signer(st.manifest);
            C2paStep {
                claim_generator: generator(st.manifest),
                signer: join_signer(org, cn),
                actions: actions(st.manifest).iter().map(action_label).collect(),
            }
        })
        .collect();
    let active = steps.first().map(|s| s.manifest);
    C2paSummary {
        manifests: store
            .get("manifests")
            .and_then(Value::as_object)
            .map_or(0, |m| m.len()),
        claim_generator: active.and_then(generator),
        signer: active.and_then(|m| {
            let (o, c) = signer(m);
            join_signer(o, c)
        }),
        validation: state.to_string(),
        signature_verified,
        content_matches,
        trust: "not-checked",
        failures,
        chain: summary_steps,
    }
}

/// One action as the summary lists it: the action, its agent and its source type code.
fn action_label(a: &Action) -> String {
    let mut t = a.action.clone();
    if let Some(ag) = &a.agent {
        t.push_str(&format!(" by {ag}"));
    }
    if let Some((code, _)) = a.dst.as_deref().and_then(digital_source_type) {
        t.push_str(&format!(" ({code})"));
    }
    t
}

/// The innermost creation step: the deepest manifest holding one, with its creation action.
fn innermost_creator<'s, 'a>(steps: &'s [Step<'a>]) -> Option<(&'s Step<'a>, Action)> {
    let mut creator: Option<(&Step, Action)> = None;
    for st in steps {
        if let Some(a) = actions(st.manifest).into_iter().find(is_creation)
            && creator.as_ref().is_none_or(|(c, _)| st.depth > c.depth)
        {
            creator = Some((st, a));
        }
    }
    creator
}

/// The creator evidence for the creation action `a` of manifest `m`, with the vendor it
/// names (wrappers from that vendor are not reported separately).
fn creator_evidence(
    m: &Value,
    a: &Action,
    any_ai: bool,
    creator_weight: f64,
    sig_word: &str,
) -> (Evidence, Option<&'static str>) {
    let gen_name = generator(m).unwrap_or_default();
    let (org, cn) = signer(m);
    let model = a
        .model_version
        .clone()
        .or_else(|| a.model_id.clone())
        .or_else(|| {
            a.agent.clone().filter(|ag| {
                model_family(ag).0.is_some()
                    || !gen_name
                        .to_ascii_lowercase()
                        .contains(&ag.to_ascii_lowercase())
            })
        });
    let model_vendor = [
        a.model_id.as_deref(),
        a.model_version.as_deref(),
        a.details.as_deref(),
        a.agent.as_deref(),
    ]
    .into_iter()
    .flatten()
    .find_map(|n| model_family(n).0.or_else(|| software(n).0));
    let vendor = model_vendor
        .or_else(|| a.description.as_deref().and_then(|d| software(d).0))
        .or_else(|| software(&gen_name).0)
        .or_else(|| org.as_deref().and_then(organisation));
    let family = [
        a.model_id.as_deref(),
        a.model_version.as_deref(),
        a.agent.as_deref(),
    ]
    .into_iter()
    .flatten()
    .find_map(|n| model_family(n).1)
    .or(match vendor {
        Some("google") => Some("gemini"),
        Some("openai") => Some("gpt-image"),
        _ => None,
    });
    let tool = software(&gen_name).1;
    let ai = a
        .dst
        .as_deref()
        .and_then(digital_source_type)
        .and_then(|(_, ai)| ai);
    let ai = ai.or((a.model_id.is_some() || any_ai).then_some(true));
    let signed_by = join_signer(org, cn);
    let says = creator_says(a, &gen_name, signed_by, sig_word);
    let mut e = Evidence::new(
        EvidenceSource::C2pa,
        says,
        if ai.is_some() { creator_weight } else { 0.5 },
    )
    .vendor(vendor)
    .model(model.as_deref())
    .family(family)
    .tool(tool)
    .role("creator");
    // A creation with no generative source type declared is weak not-AI evidence.
    e.ai = match ai {
        Some(x) => Some(x),
        None if a.action == "c2pa.created" => Some(false),
        None => None,
    };
    (e, vendor)
}

/// What the creator evidence says: the action, agent, model, description and source
/// type, then the manifest's generator, signer and signature state.
fn creator_says(a: &Action, gen_name: &str, signed_by: Option<String>, sig_word: &str) -> String {
    let mut says = a.action.to_string();
    if let Some(ag) = &a.agent {
        says.push_str(&format!(" by {ag}"));
    }
    if let Some(mid) = &a.model_id {
        says.push_str(&format!(" with model {mid}"));
        if let Some(mv) = &a.model_version {
            says.push_str(&format!(" {mv}"));
        }
    }
    if let Some(d) = &a.description {
        says.push_str(&format!(": {d:?}"));
    }
    if let Some((code, _)) = a.dst.as_deref().and_then(digital_source_type) {
        says.push_str(&format!(", digitalSourceType {code}"));
    }
    says.push_str(&format!(
        "; manifest by {}{}; {sig_word}",
        if gen_name.is_empty() { "?" } else { gen_name },
        signed_by
            .map(|s| format!(", signed by {s}"))
            .unwrap_or_default()
    ));
    says
}

/// The manifest's generator or signer as wrapper evidence, when it is another vendor.
fn wrapper(m: &Value, creator_vendor: Option<&str>, ev: &mut Vec<Evidence>) {
    let gen_name = generator(m).unwrap_or_default();
    let (org, cn) = signer(m);
    let (v, tool) = software(&gen_name);
    let vendor = v.or_else(|| org.as_deref().and_then(organisation));
    if vendor.is_none() && tool.is_none() {
        return;
    }
    let says = format!(
        "wrapper manifest by {}{}",
        if gen_name.is_empty() { "?" } else { &gen_name },
        join_signer(org, cn)
            .map(|s| format!(", signed by {s}"))
            .unwrap_or_default()
    );
    if ev.iter().any(|e| e.says == says) || (vendor.is_some() && vendor == creator_vendor) {
        return;
    }
    ev.push(
        Evidence::new(EvidenceSource::C2pa, says, 0.5)
            .vendor(vendor)
            .tool(tool)
            .role("wrapper"),
    );
}

/// The creator's own manifest signed by someone else (Adobe hosting Gemini) is a wrapper too.
fn wrapper_if_distinct(m: &Value, creator_vendor: Option<&str>, ev: &mut Vec<Evidence>) {
    let (org, _) = signer(m);
    let signer_vendor = org
        .as_deref()
        .and_then(organisation)
        .or_else(|| software(&generator(m).unwrap_or_default()).0);
    if signer_vendor.is_some() && signer_vendor != creator_vendor {
        wrapper(m, creator_vendor, ev);
    }
}

fn join_signer(org: Option<String>, cn: Option<String>) -> Option<String> {
    match (org, cn) {
        (Some(o), Some(c)) => Some(format!("O={o}, CN={c}")),
        (Some(o), None) => Some(format!("O={o}")),
        (None, Some(c)) => Some(format!("CN={c}")),
        (None, None) => None,
    }
}
