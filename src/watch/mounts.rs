//! Which file system a folder lives on, to decide between native events and polling.
//!
//! File-system events do not cross the network: a file another machine writes into
//! an NFS, SMB, sshfs or 9p share, or into most FUSE mounts, raises no inotify event
//! here. Such folders are polled. Linux reads the mount table; macOS asks `statfs`;
//! on Windows a UNC path (`\\server\share`) counts as remote.

use std::path::Path;

/// File systems where native events miss changes made elsewhere.
const REMOTE_TYPES: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb",
    "smb2",
    "smb3",
    "smbfs",
    "sshfs",
    "9p",
    "afs",
    "ceph",
    "glusterfs",
    "davfs",
    "webdav",
    "afpfs",
    "lustre",
    "beegfs",
    "gpfs",
    "virtiofs",
    "vboxsf",
    "prl_fs",
    "vmhgfs",
];

/// Whether events cannot be trusted on this file-system type.
pub fn is_remote_type(fstype: &str) -> bool {
    let t = fstype.to_ascii_lowercase();
    REMOTE_TYPES.contains(&t.as_str())
        || t.starts_with("fuse.")
        || t.contains("fuse") && t != "fuseblk"
}

/// The file-system type of the mount holding `path`, if it can be told.
pub fn fs_type(path: &Path) -> Option<String> {
    let canonical = std::fs::canonicalize(path).ok()?;
    fs_type_of(&canonical)
}

#[cfg(target_os = "linux")]
fn fs_type_of(path: &Path) -> Option<String> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mount_type_from_mountinfo(&table, path)
}

#[cfg(target_os = "macos")]
fn fs_type_of(path: &Path) -> Option<String> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statfs.
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let name: Vec<u8> = st
        .f_fstypename
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as u8)
        .collect();
    Some(String::from_utf8_lossy(&name).into_owned())
}

#[cfg(windows)]
fn fs_type_of(path: &Path) -> Option<String> {
    let s = path.to_string_lossy();
    (s.starts_with(r"\\") && !s.starts_with(r"\\?\") || s.starts_with(r"\\?\UNC\"))
        .then(|| "smb".to_string())
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn fs_type_of(_path: &Path) -> Option<String> {
    None
}

/// The type of the longest mount point that holds `path`, from `/proc/self/mountinfo`.
pub fn mount_type_from_mountinfo(table: &str, path: &Path) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for line in table.lines() {
        // id parent major:minor root mount-point options... - fstype source super-options
        let mut fields = line.split(' ');
        let mount_point = fields.nth(4)?;
        let mount_point = unescape_octal(mount_point);
        let fstype = line.split(" - ").nth(1)?.split(' ').next()?.to_string();
        let mp = Path::new(&mount_point);
        if path.starts_with(mp) {
            let depth = mp.components().count();
            if best.as_ref().is_none_or(|(d, _)| depth >= *d) {
                best = Some((depth, fstype));
            }
        }
    }
    best.map(|(_, t)| t)
}

/// Mount points escape spaces and the like as `\040`.
fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:35 / /mnt/studio rw,relatime shared:2 - nfs4 nas:/studio rw
41 22 0:36 / /mnt/my\\040drive rw - fuse.rclone gdrive: rw
42 40 8:2 / /mnt/studio/local rw - ext4 /dev/sdb1 rw
";

    #[test]
    fn longest_mount_point_wins() {
        let t = |p: &str| mount_type_from_mountinfo(MOUNTINFO, Path::new(p));
        assert_eq!(t("/home/me/realskin/in").as_deref(), Some("ext4"));
        assert_eq!(t("/mnt/studio/in").as_deref(), Some("nfs4"));
        assert_eq!(t("/mnt/studio/local/in").as_deref(), Some("ext4"));
        assert_eq!(t("/mnt/my drive/in").as_deref(), Some("fuse.rclone"));
    }

    #[test]
    fn remote_types() {
        for t in [
            "nfs",
            "NFS4",
            "cifs",
            "smb3",
            "fuse.sshfs",
            "9p",
            "fuse.rclone",
            "fuse",
        ] {
            assert!(is_remote_type(t), "{t}");
        }
        for t in [
            "ext4", "btrfs", "xfs", "apfs", "tmpfs", "fuseblk", "overlay",
        ] {
            assert!(!is_remote_type(t), "{t}");
        }
    }
}
