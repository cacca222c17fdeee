//! `[skin] preset = "auto"`: the verdict's vendor, family, model or tool picks a skin
//! preset (`flux`, `midjourney`, `openai`, `gemini`, `stable-diffusion`, `generic`).
//! The rules are data, so the config file can replace or extend them.

use serde::{Deserialize, Serialize};

use super::evidence::Verdict;

/// A skin preset: the vocabulary the profiler picks from and the skin engine applies
/// (`pipeline::skin::presets` gives each its recipe). Written in the config and the report
/// by its kebab-case name (`stable-diffusion`); an unknown name in the config is an error
/// at its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    Flux,
    Midjourney,
    Openai,
    Gemini,
    StableDiffusion,
    Generic,
}

impl Preset {
    /// Every preset, in the order the docs list them.
    pub const ALL: [Preset; 6] = [
        Preset::Flux,
        Preset::Midjourney,
        Preset::Openai,
        Preset::Gemini,
        Preset::StableDiffusion,
        Preset::Generic,
    ];

    /// Its name in the config and the report.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Flux => "flux",
            Preset::Midjourney => "midjourney",
            Preset::Openai => "openai",
            Preset::Gemini => "gemini",
            Preset::StableDiffusion => "stable-diffusion",
            Preset::Generic => "generic",
        }
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Preset {
    type Err = String;

    /// A preset by its name (`stable-diffusion`).
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|p| p.name()).collect();
                format!("unknown skin preset {s:?}; use one of {}", names.join(", "))
            })
    }
}

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
    pub preset: Preset,
}

/// The rules, in order, and the preset used when none matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetMap {
    #[serde(default = "builtin_rules")]
    pub rules: Vec<PresetRule>,
    #[serde(default = "generic")]
    pub fallback: Preset,
}

fn generic() -> Preset {
    Preset::Generic
}

fn builtin_rules() -> Vec<PresetRule> {
    PresetMap::default().rules
}

fn rule(
    vendor: Option<&str>,
    family: Option<&str>,
    tool: Option<&str>,
    preset: Preset,
) -> PresetRule {
    PresetRule {
        vendor: vendor.map(str::to_string),
        family: family.map(str::to_string),
        model: None,
        tool: tool.map(str::to_string),
        preset,
    }
}

impl Default for PresetMap {
    /// Family first (a Flux model run in ComfyUI or hosted anywhere is Flux), then vendor,
    /// then the tools of the Stable Diffusion ecosystem.
    fn default() -> Self {
        PresetMap {
            rules: vec![
                rule(None, Some("flux"), None, Preset::Flux),
                rule(None, Some("midjourney"), None, Preset::Midjourney),
                rule(None, Some("gpt-image"), None, Preset::Openai),
                rule(None, Some("gemini"), None, Preset::Gemini),
                rule(
                    None,
                    Some("stable-diffusion"),
                    None,
                    Preset::StableDiffusion,
                ),
                rule(Some("black-forest-labs"), None, None, Preset::Flux),
                rule(Some("midjourney"), None, None, Preset::Midjourney),
                rule(Some("openai"), None, None, Preset::Openai),
                rule(Some("google"), None, None, Preset::Gemini),
                rule(Some("stability-ai"), None, None, Preset::StableDiffusion),
                rule(Some("novelai"), None, None, Preset::StableDiffusion),
                rule(None, None, Some("a1111"), Preset::StableDiffusion),
                rule(None, None, Some("forge"), Preset::StableDiffusion),
                rule(None, None, Some("fooocus"), Preset::StableDiffusion),
                rule(None, None, Some("invokeai"), Preset::StableDiffusion),
                rule(None, None, Some("draw-things"), Preset::StableDiffusion),
            ],
            fallback: generic(),
        }
    }
}

/// The preset chosen and why, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PresetPick {
    pub preset: Preset,
    pub reason: String,
}

impl PresetMap {
    /// Picks the preset for a verdict.
    pub fn choose(&self, v: &Verdict) -> PresetPick {
        if v.ai != Some(true) {
            return PresetPick {
                preset: self.fallback,
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
                    preset: r.preset,
                    reason: format!("{} maps to {}", what.join(", "), r.preset),
                };
            }
        }
        PresetPick {
            preset: self.fallback,
            reason: "AI-generated, but no preset rule matches its vendor or model".to_string(),
        }
    }
}
