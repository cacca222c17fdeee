//! Bounded random access over either a byte slice or a seekable stream, so that every
//! container parser is written once and never reads pixel data it does not need.

use std::io::{Read, Seek, SeekFrom};

/// The largest single metadata block read into memory (ICC, EXIF, XMP, JUMBF, text).
pub const MAX_BLOCK: u64 = 64 * 1024 * 1024;

/// What every file may spend on metadata beyond its own size: room for decompressed
/// text and ICC profiles in a small file.
const BUDGET_FLOOR: u64 = 32 * 1024 * 1024;

/// How many bytes of metadata one file may bring into memory, all blocks together:
/// twice its size plus [`BUDGET_FLOOR`]. Honest metadata is a part of the file, read once;
/// a crafted file that points thousands of entries at the same megabyte, or packs
/// deflate bombs into text chunks, runs out here instead of exhausting the machine.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    left: u64,
    exhausted: bool,
}

impl Budget {
    /// The budget for a file of `len` bytes.
    pub(crate) fn for_file(len: u64) -> Self {
        Budget {
            left: len.saturating_mul(2).saturating_add(BUDGET_FLOOR),
            exhausted: false,
        }
    }

    /// Spends `n` bytes, or refuses (and remembers that it refused) when they are not left.
    pub(crate) fn take(&mut self, n: u64) -> bool {
        if n > self.left {
            self.exhausted = true;
            false
        } else {
            self.left -= n;
            true
        }
    }

    /// Marks the budget spent: a decompressor hit the limit `left()` set it.
    pub(crate) fn exhaust(&mut self) {
        self.left = 0;
        self.exhausted = true;
    }

    /// The bytes still available.
    pub(crate) fn left(&self) -> u64 {
        self.left
    }

    /// Whether a request was refused.
    pub(crate) fn exhausted(&self) -> bool {
        self.exhausted
    }

    /// The total this budget started with, for messages.
    pub(crate) fn total_for(len: u64) -> u64 {
        Budget::for_file(len).left
    }
}

/// Random access to the bytes of one file. Every byte handed out by `read_at` is charged
/// to the file's [`Budget`].
pub(crate) trait ByteSource {
    /// Total length in bytes.
    fn len(&self) -> u64;
    /// Reads exactly `n` bytes at `off`, or `None` when they are not all there or the
    /// budget cannot pay for them (see [`ByteSource::budget`]).
    fn read_at(&mut self, off: u64, n: usize) -> Option<Vec<u8>>;
    /// Reads exactly `buf.len()` bytes at `off` into the caller's (small, fixed) buffer.
    fn fill_at(&mut self, off: u64, buf: &mut [u8]) -> bool;
    /// What this file may still bring into memory.
    fn budget(&mut self) -> &mut Budget;
}

/// A whole file already in memory.
pub(crate) struct Bytes<'a> {
    data: &'a [u8],
    budget: Budget,
}

impl<'a> Bytes<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Bytes {
            data,
            budget: Budget::for_file(data.len() as u64),
        }
    }
}

impl ByteSource for Bytes<'_> {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }
    fn read_at(&mut self, off: u64, n: usize) -> Option<Vec<u8>> {
        let start = usize::try_from(off).ok()?;
        let end = start.checked_add(n)?;
        let slice = self.data.get(start..end)?;
        self.budget.take(n as u64).then(|| slice.to_vec())
    }
    fn budget(&mut self) -> &mut Budget {
        &mut self.budget
    }
    fn fill_at(&mut self, off: u64, buf: &mut [u8]) -> bool {
        let Ok(start) = usize::try_from(off) else {
            return false;
        };
        match start
            .checked_add(buf.len())
            .and_then(|end| self.data.get(start..end))
        {
            Some(s) => {
                buf.copy_from_slice(s);
                true
            }
            None => false,
        }
    }
}

/// A seekable stream (usually a buffered file): only the requested ranges are read.
pub(crate) struct Stream<R> {
    inner: R,
    len: u64,
    pos: u64,
    budget: Budget,
}

impl<R: Read + Seek> Stream<R> {
    pub(crate) fn new(mut inner: R) -> std::io::Result<Self> {
        let len = inner.seek(SeekFrom::End(0))?;
        inner.seek(SeekFrom::Start(0))?;
        Ok(Self {
            inner,
            len,
            pos: 0,
            budget: Budget::for_file(len),
        })
    }

    fn goto(&mut self, off: u64) -> bool {
        if off == self.pos {
            return true;
        }
        match self.inner.seek(SeekFrom::Start(off)) {
            Ok(p) => {
                self.pos = p;
                p == off
            }
            Err(_) => false,
        }
    }
}

impl<R: Read + Seek> ByteSource for Stream<R> {
    fn len(&self) -> u64 {
        self.len
    }
    fn budget(&mut self) -> &mut Budget {
        &mut self.budget
    }
    fn read_at(&mut self, off: u64, n: usize) -> Option<Vec<u8>> {
        let end = off.checked_add(n as u64)?;
        if end > self.len || n as u64 > MAX_BLOCK || !self.budget.take(n as u64) {
            return None;
        }
        let mut buf = vec![0; n];
        self.fill_at(off, &mut buf).then_some(buf)
    }
    fn fill_at(&mut self, off: u64, buf: &mut [u8]) -> bool {
        match off.checked_add(buf.len() as u64) {
            Some(end) if end <= self.len => {}
            _ => return false,
        }
        if !self.goto(off) {
            return false;
        }
        match self.inner.read_exact(buf) {
            Ok(()) => {
                self.pos = off + buf.len() as u64;
                true
            }
            Err(_) => {
                // Position unknown after a failed read: force a seek next time.
                self.pos = u64::MAX;
                false
            }
        }
    }
}
