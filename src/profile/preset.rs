//! `[skin] preset = "auto"`: the verdict's vendor, family, model or tool picks a skin
//! preset (`flux`, `midjourney`, `openai`, `gemini`, `stable-diffusion`, `generic`).
//! The rules are data, so the config file can replace or extend them.

use serde::{Deserialize, Serialize};

use super::evidence::Verdict;

/// The presets the skin engine knows.
pub const PRESETS: &[&str] = &[
    "flux",
    "midjourney",
    "openai",
    "gemini",
    "stable-diffusion",
    "generic",
];

/// One rule: every field that is set must match (case-insensitive; `model` is a
/// substring match). The first matching rule wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    pub preset: String,
}

/// The rules, in order, and the preset used when none matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetMap {
    #[serde(default = "builtin_rules")]
    pub rules: Vec<PresetRule>,
    #[serde(default = "generic")]
    pub fallback: String,
}

fn generic() -> String {
    "generic".to_string()
}

fn builtin_rules() -> Vec<PresetRule> {
    PresetMap::default().rules
}

fn rule(
    vendor: Option<&str>,
    family: Option<&str>,
    tool: Option<&str>,
    preset: &str,
) -> PresetRule {
    PresetRule {
        vendor: vendor.map(str::to_string),
        family: family.map(str::to_string),
        model: None,
        tool: tool.map(str::to_string),
        preset: preset.to_string(),
    }
}

impl Default for PresetMap {
    /// Family first (a Flux model run in ComfyUI or hosted anywhere is Flux), then vendor,
    /// then the tools of the Stable Diffusion ecosystem.
    fn default() -> Self {
        PresetMap {
            rules: vec![
                rule(None, Some("flux"), None, "flux"),
                rule(None, Some("midjourney"), None, "midjourney"),
                rule(None, Some("gpt-image"), None, "openai"),
                rule(None, Some("gemini"), None, "gemini"),
                rule(None, Some("stable-diffusion"), None, "stable-diffusion"),
                rule(Some("black-forest-labs"), None, None, "flux"),
                rule(Some("midjourney"), None, None, "midjourney"),
                rule(Some("openai"), None, None, "openai"),
                rule(Some("google"), None, None, "gemini"),
                rule(Some("stability-ai"), None, None, "stable-diffusion"),
                rule(Some("novelai"), None, None, "stable-diffusion"),
                rule(None, None, Some("a1111"), "stable-diffusion"),
                rule(None, None, Some("forge"), "stable-diffusion"),
                rule(None, None, Some("fooocus"), "stable-diffusion"),
                rule(None, None, Some("invokeai"), "stable-diffusion"),
                rule(None, None, Some("draw-things"), "stable-diffusion"),
            ],
            fallback: generic(),
        }
    }
}

/// The preset chosen and why, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PresetPick {
    pub preset: String,
    pub reason: String,
}

impl PresetMap {
    /// Checks that every preset named exists; one sentence per problem.
    pub fn validate(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|r| &r.preset)
            .chain(std::iter::once(&self.fallback))
            .filter(|p| !PRESETS.contains(&p.as_str()))
            .map(|p| {
                format!(
                    "unknown skin preset {p:?}; use one of {}",
                    PRESETS.join(", ")
                )
            })
            .collect()
    }

    /// Picks the preset for a verdict.
    pub fn choose(&self, v: &Verdict) -> PresetPick {
        if v.ai != Some(true) {
            return PresetPick {
                preset: self.fallback.clone(),
                reason: match v.ai {
                    Some(false) => "the image is declared not AI-generated".to_string(),
                    _ => "no generator identified".to_string(),
                },
            };
        }
        let eq = |want: &Option<String>, have: &Option<String>| match want {
            None => true,
            Some(w) => have.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(w)),
        };
        for r in &self.rules {
            let model_ok = match &r.model {
                None => true,
                Some(m) => v
                    .model
                    .as_deref()
                    .is_some_and(|h| h.to_ascii_lowercase().contains(&m.to_ascii_lowercase())),
            };
            if eq(&r.vendor, &v.vendor)
                && eq(&r.family, &v.family)
                && eq(&r.tool, &v.tool)
                && model_ok
            {
                let mut what = Vec::new();
                for (k, want, have) in [
                    ("family", &r.family, &v.family),
                    ("vendor", &r.vendor, &v.vendor),
                    ("tool", &r.tool, &v.tool),
                ] {
                    if want.is_some() {
                        what.push(format!("{k} {}", have.as_deref().unwrap_or("?")));
                    }
                }
                if r.model.is_some() {
                    what.push(format!("model {}", v.model.as_deref().unwrap_or("?")));
                }
                return PresetPick {
                    preset: r.preset.clone(),
                    reason: format!("{} maps to {}", what.join(", "), r.preset),
                };
            }
        }
        PresetPick {
            preset: self.fallback.clone(),
            reason: "AI-generated, but no preset rule matches its vendor or model".to_string(),
        }
    }
}
