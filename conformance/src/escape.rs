//! Showing bytes to people: transcripts and failure messages print what went over the wire
//! with every control character, invalid byte and terminator visible, in the same escapes that
//! case files use to write them (`\r`, `\n`, `\t`, `\0`, `\\`, `\xHH`).

use minichat_protocol::is_control;

/// The bytes as readable text: valid UTF-8 printed as is, except controls and `\`, which are
/// escaped; invalid bytes as `\xHH`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\0' => out.push_str("\\0"),
                c if is_control(c) => {
                    let mut buf = [0; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{b:02X}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// Like [`escape_bytes`], cut to about `max` characters with the number of bytes left out.
pub fn escape_bytes_short(bytes: &[u8], max: usize) -> String {
    let s = escape_bytes(bytes);
    if s.chars().count() <= max {
        return s;
    }
    let head: String = s.chars().take(max).collect();
    format!("{head}… ({} bytes in all)", bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_controls_terminators_and_invalid_bytes_visible() {
        assert_eq!(escape_bytes(b"MSG a\tb\r\n"), "MSG a\\tb\\r\\n");
        assert_eq!(escape_bytes(b"\0\x1b[31m\x7f"), "\\0\\x1B[31m\\x7F");
        assert_eq!(escape_bytes(b"bad \xff\xc3 end"), "bad \\xFF\\xC3 end");
        assert_eq!(escape_bytes("é \u{85}".as_bytes()), "é \\xC2\\x85");
        assert_eq!(escape_bytes(b"back\\slash"), "back\\\\slash");
    }

    #[test]
    fn shortens_long_lines_and_says_how_long_they_were() {
        let long = vec![b'x'; 5000];
        let s = escape_bytes_short(&long, 20);
        assert!(s.starts_with("xxxxxxxxxxxxxxxxxxxx…"));
        assert!(s.ends_with("(5000 bytes in all)"));
        assert_eq!(escape_bytes_short(b"short", 20), "short");
    }
}
