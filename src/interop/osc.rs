//! A reader of OSC 1.0 packets (messages and bundles, as the VMC protocol sends them over UDP) that
//! borrows from the packet and never allocates, so a stream from the network costs no memory however
//! it is formed. Packets are written with the [`rosc`] crate (see [`VmcSender`](super::vmc::VmcSender)).

/// Bundles nested deeper than this are refused.
pub const MAX_DEPTH: usize = 8;

/// Why a packet could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OscError {
    /// Shorter than its parts say, or not a multiple of four bytes where OSC says it must be.
    #[error("the packet ends inside its {0}")]
    Truncated(&'static str),
    /// A string without its terminating zero, or not UTF-8.
    #[error("a malformed string in its {0}")]
    BadString(&'static str),
    /// Neither a message (an address starting with `/`) nor a bundle (`#bundle`).
    #[error("neither a message nor a bundle")]
    NotOsc,
    /// A type tag this reader does not know (its arguments' sizes are unknown).
    #[error("unknown type tag `{0}`")]
    UnknownType(char),
    /// Bundles in bundles deeper than [`MAX_DEPTH`].
    #[error("bundles nested deeper than {MAX_DEPTH}")]
    TooDeep,
}

/// One argument of a message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OscArg<'a> {
    /// `i`
    Int(i32),
    /// `f`
    Float(f32),
    /// `s` or `S`
    Str(&'a str),
    /// `b`
    Blob(&'a [u8]),
    /// `h`
    Long(i64),
    /// `d`
    Double(f64),
    /// `T` / `F`
    Bool(bool),
    /// Anything else (`t`, `c`, `r`, `m`, `N`, `I`, `[`, `]`).
    Other(char),
}

impl OscArg<'_> {
    /// The argument as a number (ints, floats, doubles and bools), VMC senders differ in which they use.
    pub fn number(&self) -> Option<f32> {
        match *self {
            OscArg::Int(i) => Some(i as f32),
            OscArg::Float(f) => Some(f),
            OscArg::Long(i) => Some(i as f32),
            OscArg::Double(d) => Some(d as f32),
            OscArg::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
            _ => None,
        }
    }
}

/// One message; its arguments are read by [`args`](Self::args).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OscMessage<'a> {
    /// The address, e.g. `/VMC/Ext/Blend/Val`.
    pub addr: &'a str,
    tags: &'a str,
    data: &'a [u8],
}

impl<'a> OscMessage<'a> {
    /// The arguments in order; each was checked when the message was read, so this yields them all.
    pub fn args(&self) -> impl Iterator<Item = OscArg<'a>> + 'a {
        let mut data = self.data;
        self.tags.chars().map(move |tag| {
            // Checked in `read_message`: every argument is there.
            read_arg(tag, &mut data).unwrap_or(OscArg::Other(tag))
        })
    }

    /// How many arguments it has.
    pub fn arg_count(&self) -> usize {
        self.tags.len()
    }
}

/// Reads `packet` and calls `f` with each message in it (bundles opened, in order). `f` also gets the
/// time tag of the innermost bundle around the message (`None` outside bundles; OSC's 64-bit NTP time,
/// 1 = "immediately"). An error stops the reading; messages before it were delivered.
pub fn read_packet<'a>(
    packet: &'a [u8],
    f: &mut impl FnMut(OscMessage<'a>, Option<u64>),
) -> Result<(), OscError> {
    read_at(packet, None, 0, f)
}

fn read_at<'a>(
    packet: &'a [u8],
    time: Option<u64>,
    depth: usize,
    f: &mut impl FnMut(OscMessage<'a>, Option<u64>),
) -> Result<(), OscError> {
    if !packet.len().is_multiple_of(4) {
        return Err(OscError::Truncated("size"));
    }
    if let Some(rest) = packet.strip_prefix(b"#bundle\0") {
        if depth >= MAX_DEPTH {
            return Err(OscError::TooDeep);
        }
        let (tag, mut rest) = split(rest, 8, "bundle time")?;
        let tag = u64::from_be_bytes(tag.try_into().map_err(|_| OscError::Truncated("time"))?);
        while !rest.is_empty() {
            let (size, after) = split(rest, 4, "element size")?;
            let size = i32::from_be_bytes([size[0], size[1], size[2], size[3]]);
            let size = usize::try_from(size).map_err(|_| OscError::Truncated("element size"))?;
            let (element, after) = split(after, size, "element")?;
            read_at(element, Some(tag), depth + 1, f)?;
            rest = after;
        }
        Ok(())
    } else if packet.first() == Some(&b'/') {
        f(read_message(packet)?, time);
        Ok(())
    } else {
        Err(OscError::NotOsc)
    }
}

fn split<'a>(
    bytes: &'a [u8],
    n: usize,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8]), OscError> {
    if n > bytes.len() {
        return Err(OscError::Truncated(what));
    }
    Ok(bytes.split_at(n))
}

/// A zero-terminated string padded to four bytes, and what follows it.
fn read_str<'a>(bytes: &'a [u8], what: &'static str) -> Result<(&'a str, &'a [u8]), OscError> {
    let end = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or(OscError::BadString(what))?;
    let s = std::str::from_utf8(&bytes[..end]).map_err(|_| OscError::BadString(what))?;
    let padded = (end + 4) & !3;
    let (_, rest) = split(bytes, padded, what)?;
    Ok((s, rest))
}

fn read_message(packet: &[u8]) -> Result<OscMessage<'_>, OscError> {
    let (addr, rest) = read_str(packet, "address")?;
    // A message without a type tag string is allowed by OSC 1.0 (no arguments).
    let (tags, data) = if rest.is_empty() {
        ("", rest)
    } else {
        let (tags, data) = read_str(rest, "type tags")?;
        (tags.strip_prefix(',').ok_or(OscError::NotOsc)?, data)
    };
    // Every argument must be there (so `args` cannot fail).
    let mut check = data;
    for tag in tags.chars() {
        read_arg(tag, &mut check)?;
    }
    Ok(OscMessage { addr, tags, data })
}

fn read_arg<'a>(tag: char, data: &mut &'a [u8]) -> Result<OscArg<'a>, OscError> {
    let mut fixed = |n: usize| -> Result<&'a [u8], OscError> {
        let (head, rest) = split(data, n, "arguments")?;
        *data = rest;
        Ok(head)
    };
    Ok(match tag {
        'i' => OscArg::Int(i32::from_be_bytes(fixed(4)?.try_into().unwrap_or([0; 4]))),
        'f' => OscArg::Float(f32::from_be_bytes(fixed(4)?.try_into().unwrap_or([0; 4]))),
        'h' => OscArg::Long(i64::from_be_bytes(fixed(8)?.try_into().unwrap_or([0; 8]))),
        'd' => OscArg::Double(f64::from_be_bytes(fixed(8)?.try_into().unwrap_or([0; 8]))),
        't' => {
            fixed(8)?;
            OscArg::Other('t')
        }
        'c' | 'r' | 'm' => {
            fixed(4)?;
            OscArg::Other(tag)
        }
        'T' => OscArg::Bool(true),
        'F' => OscArg::Bool(false),
        'N' | 'I' | '[' | ']' => OscArg::Other(tag),
        's' | 'S' => {
            let (s, rest) = read_str(data, "arguments")?;
            *data = rest;
            OscArg::Str(s)
        }
        'b' => {
            let size = fixed(4)?;
            let size = i32::from_be_bytes([size[0], size[1], size[2], size[3]]);
            let size = usize::try_from(size).map_err(|_| OscError::Truncated("blob"))?;
            let padded = size.checked_add(3).ok_or(OscError::Truncated("blob"))? & !3;
            let blob = fixed(padded)?;
            OscArg::Blob(&blob[..size])
        }
        other => return Err(OscError::UnknownType(other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rosc::{OscBundle, OscPacket, OscTime, OscType};

    fn msg(addr: &str, args: Vec<OscType>) -> OscPacket {
        OscPacket::Message(rosc::OscMessage {
            addr: addr.to_owned(),
            args,
        })
    }

    #[test]
    fn reads_what_rosc_writes_bundles_included() {
        let packet = OscPacket::Bundle(OscBundle {
            timetag: OscTime {
                seconds: 7,
                fractional: 9,
            },
            content: vec![
                msg(
                    "/VMC/Ext/Blend/Val",
                    vec![OscType::String("jawOpen".into()), OscType::Float(0.25)],
                ),
                OscPacket::Bundle(OscBundle {
                    timetag: OscTime {
                        seconds: 0,
                        fractional: 1,
                    },
                    content: vec![msg("/VMC/Ext/Blend/Apply", vec![])],
                }),
                msg(
                    "/x",
                    vec![
                        OscType::Int(-3),
                        OscType::Blob(vec![1, 2, 3, 4, 5]),
                        OscType::Double(0.5),
                        OscType::Bool(true),
                        OscType::Long(1 << 40),
                        OscType::Nil,
                        OscType::String("é".into()),
                    ],
                ),
            ],
        });
        let bytes = rosc::encoder::encode(&packet).unwrap();
        let mut seen = Vec::new();
        read_packet(&bytes, &mut |m, t| {
            seen.push((m.addr.to_owned(), m.args().collect::<Vec<_>>().len(), t))
        })
        .unwrap();
        assert_eq!(
            seen[0],
            ("/VMC/Ext/Blend/Val".into(), 2, Some((7 << 32) | 9))
        );
        assert_eq!(seen[1], ("/VMC/Ext/Blend/Apply".into(), 0, Some(1)));
        assert_eq!(seen[2].1, 7);
        let mut args = Vec::new();
        read_packet(&bytes, &mut |m, _| {
            if m.addr == "/x" {
                args = m.args().map(|a| format!("{a:?}")).collect();
            }
        })
        .unwrap();
        assert_eq!(
            args,
            [
                "Int(-3)",
                "Blob([1, 2, 3, 4, 5])",
                "Double(0.5)",
                "Bool(true)",
                "Long(1099511627776)",
                "Other('N')",
                "Str(\"é\")"
            ]
        );
    }

    #[test]
    fn malformed_packets_are_errors() {
        let good = rosc::encoder::encode(&msg("/a", vec![OscType::Float(1.0)])).unwrap();
        let mut none = |_: OscMessage<'_>, _: Option<u64>| {};
        assert!(read_packet(&good, &mut none).is_ok());
        assert_eq!(
            read_packet(&good[..good.len() - 4], &mut none),
            Err(OscError::Truncated("arguments"))
        );
        assert_eq!(
            read_packet(&good[..3], &mut none),
            Err(OscError::Truncated("size"))
        );
        assert_eq!(read_packet(b"abcd", &mut none), Err(OscError::NotOsc));
        assert_eq!(
            read_packet(b"/abc", &mut none),
            Err(OscError::BadString("address"))
        );
        let mut deep = good.clone();
        for _ in 0..=MAX_DEPTH {
            let mut b = b"#bundle\0".to_vec();
            b.extend([0; 8]);
            b.extend((deep.len() as i32).to_be_bytes());
            b.extend(&deep);
            deep = b;
        }
        assert_eq!(read_packet(&deep, &mut none), Err(OscError::TooDeep));
        let unknown = [b"/a\0\0".as_slice(), b",x\0\0"].concat();
        assert_eq!(
            read_packet(&unknown, &mut none),
            Err(OscError::UnknownType('x'))
        );
    }
}
