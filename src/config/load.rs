//! Reading a config file and reporting every mistake in it at once, each with its line.
//!
//! The file is parsed once into a tree that remembers where every key and value
//! came from. Deserialising stops at the first bad key, so a bad entry is taken out of
//! the tree and deserialising is tried again, until it succeeds: every unknown key,
//! wrong type and bad value is reported in one go. Per-hotfolder sections are merged
//! over the global ones in the same tree, so their errors point at the right line too.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use super::{Config, HotfolderConfig};
pub use crate::diagnostics::{Problem, Severity};

/// Pipeline sections a hotfolder may override: (global table, key inside `[[hotfolder]]`).
const OVERRIDABLE: &[(&str, &str)] = &[
    ("upscale", "upscale"),
    ("output", "output_options"),
    ("skin", "skin"),
];

/// A config that could not be used, with every problem found.
#[derive(Debug, Clone)]
pub struct ConfigError {
    /// All problems, errors first, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count();
        writeln!(
            f,
            "the configuration has {errors} error{}:",
            if errors == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A configuration together with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The settings, paths resolved.
    pub config: Config,
    /// The file, or `None` for the built-in defaults.
    pub path: Option<PathBuf>,
    /// Line of each key that was in the file (`daemon.workers`, `hotfolder[0].input`).
    pub lines: BTreeMap<String, usize>,
}

impl LoadedConfig {
    /// The built-in defaults, relative paths against the working directory.
    pub fn defaults() -> Self {
        let mut config = Config::default();
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        config.resolve_paths(&cwd);
        Self {
            config,
            path: None,
            lines: BTreeMap::new(),
        }
    }

    /// Reads `path`; every problem in it is reported at once.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        match Self::from_file_lenient(path) {
            (Some(loaded), problems) if problems.is_empty() => Ok(loaded),
            (_, problems) => Err(ConfigError { problems }),
        }
    }

    /// Reads `path`, returning the problems and, unless the file cannot be parsed at
    /// all, the configuration with the bad entries left at their defaults (so that
    /// `config check` can go on to check folders and report everything in one run).
    pub fn from_file_lenient(path: &Path) -> (Option<Self>, Vec<Problem>) {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                let p = Problem {
                    severity: Severity::Error,
                    file: Some(path.to_path_buf()),
                    line: None,
                    key: String::new(),
                    message: format!(
                        "cannot read the config file ({e}); check the path, or run `realskin config init {}` to write one",
                        path.display()
                    ),
                    transient: false,
                };
                return (None, vec![p]);
            }
        };
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let base = std::fs::canonicalize(&base).unwrap_or(base);
        let (mut loaded, problems) = Self::from_str_lenient(&text, Some(path));
        if let Some(l) = &mut loaded {
            l.config.resolve_paths(&base);
        }
        (loaded, problems)
    }

    /// Parses config text; paths stay as written (see [`Config::resolve_paths`]).
    pub fn from_str(text: &str, path: Option<&Path>) -> Result<Self, ConfigError> {
        match Self::from_str_lenient(text, path) {
            (Some(loaded), problems) if problems.is_empty() => Ok(loaded),
            (_, problems) => Err(ConfigError { problems }),
        }
    }

    /// Parses config text, returning every problem and, unless the text is not TOML,
    /// the configuration with bad entries left at their defaults.
    pub fn from_str_lenient(text: &str, path: Option<&Path>) -> (Option<Self>, Vec<Problem>) {
        let lines = LineIndex::new(text);
        let problem = |span: Option<Range<usize>>, key: String, message: String| Problem {
            severity: Severity::Error,
            file: path.map(Path::to_path_buf),
            line: span.map(|s| lines.line_of(s.start)),
            key,
            message,
            transient: false,
        };

        let (mut doc, syntax) = DeTable::parse_recoverable(text);
        if !syntax.is_empty() {
            let problems = syntax
                .iter()
                .map(|e| {
                    let at = e
                        .span()
                        .and_then(|s| text.get(s))
                        .map(str::trim)
                        .filter(|t| !t.is_empty() && t.len() < 60)
                        .map(|t| format!(" at `{t}`"))
                        .unwrap_or_default();
                    problem(
                        e.span(),
                        String::new(),
                        format!("{}{at}; this is not valid TOML", e.message().trim_end()),
                    )
                })
                .collect();
            return (None, problems);
        }
        doc.get_mut().make_owned();

        let mut key_lines = BTreeMap::new();
        collect_lines(doc.get_ref(), "", &lines, &mut key_lines);

        // Pass 1: take bad entries out until the unmerged file deserialises.
        let mut problems: Vec<Problem> = Vec::new();
        for _ in 0..200 {
            let attempt = Config::deserialize(toml::de::Deserializer::from(doc.clone()));
            let err = match attempt {
                Ok(_) => break,
                Err(e) => e,
            };
            let span = err.span();
            let located = span.clone().and_then(|s| locate(doc.get_ref(), &s));
            let key = located.as_ref().map(|p| render_path(p)).unwrap_or_default();
            let p = problem(
                span.clone(),
                key,
                explain(err.message(), located.as_deref()),
            );
            if !problems.contains(&p) {
                problems.push(p);
            }
            let removed = located.is_some_and(|path| remove_at(doc.get_mut(), &path));
            if !removed {
                return (None, problems);
            }
        }
        problems.sort_by_key(|p| (p.severity, p.line));

        // Pass 2: give each hotfolder the global sections with its own keys on top.
        let has_hotfolders = matches!(
            doc.get_ref().get("hotfolder").map(|v| v.get_ref()),
            Some(DeValue::Array(a)) if !a.is_empty()
        );
        merge_overrides(doc.get_mut());
        let mut config = match Config::deserialize(toml::de::Deserializer::from(doc)) {
            Ok(c) => c,
            Err(e) => {
                problems.push(problem(e.span(), String::new(), e.message().to_string()));
                return (None, problems);
            }
        };
        if !has_hotfolders {
            config.hotfolder = vec![HotfolderConfig {
                upscale: config.upscale.clone(),
                output_options: config.output.clone(),
                skin: config.skin.clone(),
                ..HotfolderConfig::default()
            }];
        }

        let loaded = Self {
            config,
            path: path.map(Path::to_path_buf),
            lines: key_lines,
        };
        (Some(loaded), problems)
    }

    /// The line of a dotted key (`hotfolder[0].output`), falling back to its parents.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        let mut k = key;
        loop {
            if let Some(line) = self.lines.get(k) {
                return Some(*line);
            }
            let cut = k.rfind(['.', '['])?;
            k = &k[..cut];
        }
    }
}

/// One step in a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn render_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Makes serde's message read as advice.
fn explain(message: &str, path: Option<&[Seg]>) -> String {
    let message = message.trim_end();
    if message.starts_with("unknown field") {
        let hint = match path.and_then(|p| p.last()) {
            Some(Seg::Key(k)) if k == "output" && path.is_some_and(|p| p.len() > 2) => {
                " (per-hotfolder output settings go under `[hotfolder.output_options]`)"
            }
            _ => "",
        };
        format!("{message}; remove it or fix its spelling{hint}")
    } else if message.starts_with("unknown variant") {
        format!("{message}; use one of the listed values")
    } else if message.starts_with("invalid type") {
        format!("{message}; change the value to that type")
    } else {
        message.to_string()
    }
}

/// The deepest entry whose key or value covers `span`.
fn locate(table: &DeTable<'_>, span: &Range<usize>) -> Option<Vec<Seg>> {
    for (k, v) in table.iter() {
        let key_span = k.span();
        let val_span = v.span();
        let covers = |s: &Range<usize>| s.start <= span.start && span.end <= s.end.max(s.start + 1);
        let header_match = key_span.start == span.start;
        if covers(&key_span) || covers(&val_span) || header_match {
            let mut here = vec![Seg::Key(k.get_ref().to_string())];
            if covers(&val_span)
                && let Some(mut deeper) = locate_value(v.get_ref(), span)
            {
                here.append(&mut deeper);
            }
            return Some(here);
        }
    }
    // Table headers: the value span of a `[section]` may not cover its keys, so search inside.
    for (k, v) in table.iter() {
        if let Some(mut deeper) = locate_value(v.get_ref(), span) {
            let mut here = vec![Seg::Key(k.get_ref().to_string())];
            here.append(&mut deeper);
            return Some(here);
        }
    }
    None
}

fn locate_value(value: &DeValue<'_>, span: &Range<usize>) -> Option<Vec<Seg>> {
    match value {
        DeValue::Table(t) => locate(t, span),
        DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let s = item.span();
            let inside = s.start <= span.start && span.end <= s.end;
            let deeper = match item.get_ref() {
                DeValue::Table(t) => locate(t, span),
                _ => None,
            };
            match deeper {
                Some(mut d) => {
                    let mut here = vec![Seg::Index(i)];
                    here.append(&mut d);
                    Some(here)
                }
                None if inside => Some(Vec::new()),
                None => None,
            }
        }),
        _ => None,
    }
}

/// Removes the entry at `path`; an array element cannot be removed alone, so the
/// whole array's key goes instead.
fn remove_at(table: &mut DeTable<'_>, path: &[Seg]) -> bool {
    match path {
        [Seg::Key(k)] => table.remove(k.as_str()).is_some(),
        [Seg::Key(k), rest @ ..] => {
            let Some(v) = table.get_mut(k.as_str()) else {
                return false;
            };
            let removed = match (v.get_mut(), rest) {
                (DeValue::Table(t), _) => remove_at(t, rest),
                (DeValue::Array(items), [Seg::Index(i), deeper @ ..]) if !deeper.is_empty() => {
                    match items.get_mut(*i).map(|s| s.get_mut()) {
                        Some(DeValue::Table(t)) => remove_at(t, deeper),
                        _ => false,
                    }
                }
                _ => false,
            };
            removed || table.remove(k.as_str()).is_some()
        }
        _ => false,
    }
}

/// Writes every global overridable section under each hotfolder, the hotfolder's keys on top.
fn merge_overrides(doc: &mut DeTable<'_>) {
    let globals: Vec<(&str, Option<DeTable<'_>>)> = OVERRIDABLE
        .iter()
        .map(|(global, _)| {
            let table = match doc.get(*global).map(|v| v.get_ref()) {
                Some(DeValue::Table(t)) => Some(t.clone()),
                _ => None,
            };
            (*global, table)
        })
        .collect();
    let Some(hotfolders) = doc.get_mut("hotfolder") else {
        return;
    };
    let DeValue::Array(items) = hotfolders.get_mut() else {
        return;
    };
    for item in items.iter_mut() {
        let DeValue::Table(hf) = item.get_mut() else {
            continue;
        };
        for ((_, global), (_, local_key)) in globals.iter().zip(OVERRIDABLE) {
            let Some(global) = global else { continue };
            let mut merged = global.clone();
            let span = match hf.remove_entry(*local_key) {
                Some((k, v)) => {
                    if let DeValue::Table(local) = v.get_ref() {
                        for (lk, lv) in local.iter() {
                            merged.insert(lk.clone(), lv.clone());
                        }
                    }
                    k.span()
                }
                None => 0..0,
            };
            hf.insert(
                Spanned::new(span.clone(), DeString::Owned(local_key.to_string())),
                Spanned::new(span, DeValue::Table(merged)),
            );
        }
    }
}

/// Records the line of every key, dotted.
fn collect_lines(
    table: &DeTable<'_>,
    prefix: &str,
    lines: &LineIndex,
    out: &mut BTreeMap<String, usize>,
) {
    for (k, v) in table.iter() {
        let key = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        out.insert(key.clone(), lines.line_of(k.span().start));
        match v.get_ref() {
            DeValue::Table(t) => collect_lines(t, &key, lines, out),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let ikey = format!("{key}[{i}]");
                    out.insert(ikey.clone(), lines.line_of(item.span().start));
                    if let DeValue::Table(t) = item.get_ref() {
                        collect_lines(t, &ikey, lines, out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Byte offset to 1-based line number.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Duration, OutputFormat, WatchMode};

    fn load(text: &str) -> Result<LoadedConfig, ConfigError> {
        LoadedConfig::from_str(text, None)
    }

    #[test]
    fn empty_file_is_the_defaults() {
        let loaded = load("").unwrap();
        assert_eq!(loaded.config, Config::default());
    }

    #[test]
    fn every_mistake_is_reported_with_its_line() {
        let text = "\
[daemon]
workers = \"four\"
max_megapixels = 50

[upscale]
min_long_edge = 1024
engin = \"lanczos\"

[[hotfolder]]
name = \"a\"
input = \"in\"
settle = 2
";
        let err = load(text).unwrap_err();
        let got: Vec<(Option<usize>, &str)> = err
            .problems
            .iter()
            .map(|p| (p.line, p.key.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some(2), "daemon.workers"),
                (Some(7), "upscale.engin"),
                (Some(12), "hotfolder[0].settle"),
            ],
            "{err}"
        );
        assert!(err.problems[2].message.contains("\"2s\""), "{err}");
    }

    #[test]
    fn hotfolder_sections_override_only_the_keys_given() {
        let text = "\
[upscale]
min_long_edge = 1500
target_long_edge = 3000

[output]
format = \"jpeg\"

[[hotfolder]]
name = \"print\"
input = \"print-in\"
watch = \"poll\"
settle = \"500ms\"
[hotfolder.upscale]
target_long_edge = 4096

[[hotfolder]]
name = \"web\"
input = \"web-in\"
[hotfolder.output_options]
format = \"webp\"
";
        let cfg = load(text).unwrap().config;
        let print = &cfg.hotfolder[0];
        assert_eq!(print.upscale.min_long_edge, 1500);
        assert_eq!(print.upscale.target_long_edge, 4096);
        assert_eq!(print.output_options.format, OutputFormat::Jpeg);
        assert_eq!(print.watch, WatchMode::Poll);
        assert_eq!(print.settle, Duration::from_millis(500));
        let web = &cfg.hotfolder[1];
        assert_eq!(web.upscale.target_long_edge, 3000);
        assert_eq!(web.output_options.format, OutputFormat::Webp);
    }

    #[test]
    fn syntax_errors_point_at_the_line() {
        let err = load("[daemon]\nworkers = = 2\n").unwrap_err();
        assert_eq!(err.problems[0].line, Some(2), "{err}");
    }

    #[test]
    fn line_of_falls_back_to_the_parent_key() {
        let loaded = load("[[hotfolder]]\nname = \"a\"\ninput = \"x\"\n").unwrap();
        assert_eq!(loaded.line_of("hotfolder[0].input"), Some(3));
        assert_eq!(loaded.line_of("hotfolder[0].output"), Some(1));
    }
}
