//! Generator presets: how much of each feature a generator's typical skin needs, and how `auto` resolves.
//!
//! The *amount* of texture always comes from the measured deficit against real skin (see `measure.rs`);
//! a preset only shifts the mix: which component fills the deficit, how hard the specular sheen is broken
//! up, whether a colour cast is expected. Every value is a multiplier where 1.0 is the generic recipe.

use serde::{Deserialize, Serialize};

pub use crate::profile::Preset;

/// `preset = "auto"` or one of the named presets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PresetChoice {
    #[default]
    Auto,
    Flux,
    Midjourney,
    Openai,
    Gemini,
    StableDiffusion,
    Generic,
}

/// Per-feature multipliers of a preset (1.0 = generic recipe).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Recipe {
    /// Share of the pore-band deficit filled by discrete pores rather than symmetric micro-grain (0..1).
    pub pore_share: f32,
    pub pores: f32,
    pub relief: f32,
    pub highlight_breakup: f32,
    pub tone: f32,
    pub cast: f32,
    pub mottling: f32,
    pub grain: f32,
}

/// What each preset does to the skin: the engine's side of the profiler's [`Preset`].
impl Preset {
    /// What the preset is for, for the report.
    pub fn rationale(self) -> &'static str {
        match self {
            Preset::Flux => {
                "Flux skin is waxy: more of the deficit goes to pores and the sheen is broken up harder"
            }
            Preset::Midjourney => "Midjourney skin looks retouched: more micro-relief",
            Preset::Openai => {
                "OpenAI images are the smoothest and warm-cast: every feature, plus full cast correction"
            }
            Preset::Gemini => "Gemini skin is smooth but fairly neutral: slightly more relief",
            Preset::StableDiffusion => "Stable Diffusion skin runs saturated: stronger tone pull",
            Preset::Generic => "unknown generator: the measured deficit alone decides",
        }
    }

    pub fn recipe(self) -> Recipe {
        let generic = Recipe {
            pore_share: 0.8,
            pores: 1.0,
            relief: 1.0,
            highlight_breakup: 1.0,
            tone: 1.0,
            cast: 0.0,
            mottling: 1.0,
            grain: 1.0,
        };
        match self {
            Preset::Generic => generic,
            Preset::Flux => Recipe {
                pore_share: 0.9,
                highlight_breakup: 1.5,
                ..generic
            },
            Preset::Midjourney => Recipe {
                pore_share: 0.7,
                relief: 1.3,
                ..generic
            },
            Preset::Openai => Recipe {
                pore_share: 0.85,
                highlight_breakup: 1.3,
                cast: 1.0,
                tone: 1.2,
                ..generic
            },
            Preset::Gemini => Recipe {
                relief: 1.1,
                ..generic
            },
            Preset::StableDiffusion => Recipe {
                tone: 1.3,
                ..generic
            },
        }
    }
}

impl PresetChoice {
    /// Resolves `auto` with the profiler's hint (until the profiler lands, no hint: `generic`).
    pub fn resolve(self, hint: Option<Preset>) -> (Preset, String) {
        let named = |p: Preset| {
            (
                p,
                format!("configured preset `{}`: {}", p.name(), p.rationale()),
            )
        };
        match self {
            PresetChoice::Auto => match hint {
                Some(p) => (
                    p,
                    format!(
                        "auto: the profiler names the generator `{}`: {}",
                        p.name(),
                        p.rationale()
                    ),
                ),
                None => (
                    Preset::Generic,
                    "auto without a generator hint: generic".to_string(),
                ),
            },
            PresetChoice::Flux => named(Preset::Flux),
            PresetChoice::Midjourney => named(Preset::Midjourney),
            PresetChoice::Openai => named(Preset::Openai),
            PresetChoice::Gemini => named(Preset::Gemini),
            PresetChoice::StableDiffusion => named(Preset::StableDiffusion),
            PresetChoice::Generic => named(Preset::Generic),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_without_hint_is_generic() {
        assert_eq!(PresetChoice::Auto.resolve(None).0, Preset::Generic);
        assert_eq!(
            PresetChoice::Auto.resolve(Some(Preset::Flux)).0,
            Preset::Flux
        );
        assert_eq!(
            PresetChoice::Openai.resolve(Some(Preset::Flux)).0,
            Preset::Openai
        );
    }

    #[test]
    fn every_preset_parses_and_names_read_back() {
        for p in Preset::ALL {
            assert_eq!(p.name().parse::<Preset>(), Ok(p));
            assert_eq!(
                serde_json::to_string(&p).unwrap(),
                format!("\"{}\"", p.name())
            );
            assert!(!p.rationale().is_empty());
        }
        let err = "sdxl".parse::<Preset>().unwrap_err();
        assert!(err.contains("stable-diffusion"), "{err}");
        for (d, w) in crate::pipeline::upscale::Device::ALL {
            assert_eq!(w.parse::<crate::pipeline::upscale::Device>(), Ok(d));
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{w}\""));
        }
        assert!("gpu".parse::<crate::pipeline::upscale::Device>().is_err());
    }

    #[test]
    fn preset_names_are_kebab_case() {
        let p: PresetChoice = serde_json::from_str("\"stable-diffusion\"").unwrap();
        assert_eq!(p, PresetChoice::StableDiffusion);
        assert_eq!(
            serde_json::to_string(&Preset::StableDiffusion).unwrap(),
            "\"stable-diffusion\""
        );
    }
}
