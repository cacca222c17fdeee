//! Bounded random access over either a byte slice or a seekable stream, so that every
//! container parser is written once and never reads pixel data it does not need.

use std::io::{Read, Seek, SeekFrom};

/// The largest single metadata block read into memory (ICC, EXIF, XMP, JUMBF, text).
pub const MAX_BLOCK: u64 = 64 * 1024 * 1024;

/// Random access to the bytes of one file.
pub(crate) trait Source {
    /// Total length in bytes.
    fn len(&self) -> u64;
    /// Reads exactly `n` bytes at `off`, or `None` when they are not all there.
    fn read_at(&mut self, off: u64, n: usize) -> Option<Vec<u8>>;
    /// Reads exactly `buf.len()` bytes at `off`.
    fn fill_at(&mut self, off: u64, buf: &mut [u8]) -> bool;
}

/// A whole file already in memory.
pub(crate) struct Bytes<'a>(pub &'a [u8]);

impl Source for Bytes<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_at(&mut self, off: u64, n: usize) -> Option<Vec<u8>> {
        let start = usize::try_from(off).ok()?;
        let end = start.checked_add(n)?;
        self.0.get(start..end).map(<[u8]>::to_vec)
    }
    fn fill_at(&mut self, off: u64, buf: &mut [u8]) -> bool {
        let Ok(start) = usize::try_from(off) else {
            return false;
        };
        match start
            .checked_add(buf.len())
            .and_then(|end| self.0.get(start..end))
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
}

impl<R: Read + Seek> Stream<R> {
    pub(crate) fn new(mut inner: R) -> std::io::Result<Self> {
        let len = inner.seek(SeekFrom::End(0))?;
        inner.seek(SeekFrom::Start(0))?;
        Ok(Self { inner, len, pos: 0 })
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

impl<R: Read + Seek> Source for Stream<R> {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&mut self, off: u64, n: usize) -> Option<Vec<u8>> {
        let end = off.checked_add(n as u64)?;
        if end > self.len || n as u64 > MAX_BLOCK {
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
