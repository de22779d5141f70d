//! The only calls into the OS that socket2 and tokio do not wrap safely: SCTP socket
//! options, whose values are C structs (written and read as bytes by `opts` and `addr`),
//! the registration of a descriptor with tokio's reactor, and `recv` into tokio's not yet
//! initialised read buffer. This is the one place of the crate allowed `unsafe` (the
//! crate denies it elsewhere); each block says why it is sound.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::AsRawFd;

use libc::{c_int, socklen_t};
use socket2::Socket;
use tokio::io::unix::AsyncFd;
use tokio::io::{Interest, ReadBuf};

fn option_len(len: usize) -> io::Result<socklen_t> {
    socklen_t::try_from(len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "socket option too large"))
}

/// `setsockopt(fd, level, name, value, value.len())`. Returns what the call returns: 0,
/// or for `SCTP_SOCKOPT_CONNECTX` the association id.
pub(super) fn setsockopt(
    socket: &Socket,
    level: c_int,
    name: c_int,
    value: &[u8],
) -> io::Result<c_int> {
    let len = option_len(value.len())?;
    // SAFETY: `value` is a live, initialised buffer of exactly `len` bytes that the kernel
    // only reads (it copies it in before using it), and `socket` keeps the descriptor
    // open for the duration of the call. No alignment is needed: the kernel copies bytes.
    let r =
        unsafe { libc::setsockopt(socket.as_raw_fd(), level, name, value.as_ptr().cast(), len) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `getsockopt(fd, level, name, buf, &len)`: `buf` holds the input (e.g. an association
/// id) and receives the value; returns how many bytes the kernel wrote.
pub(super) fn getsockopt(
    socket: &Socket,
    level: c_int,
    name: c_int,
    buf: &mut [u8],
) -> io::Result<usize> {
    let mut len = option_len(buf.len())?;
    // SAFETY: `buf` is a live, writable buffer of `len` bytes; the kernel writes at most
    // `len` bytes into it and stores the count in `len`, a live local. `socket` keeps the
    // descriptor open for the duration of the call.
    let r = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            level,
            name,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok((len as usize).min(buf.len()))
    }
}

/// Registers `socket` with the tokio reactor (in a runtime) for `interest`.
pub(super) fn register(socket: Socket, interest: Interest) -> io::Result<AsyncFd<Socket>> {
    // SAFETY: a `Socket` owns its descriptor (an `OwnedFd`): it is open and valid from
    // creation until the `Socket` is dropped, and `as_raw_fd` always returns that same
    // descriptor. The `AsyncFd` takes the `Socket` by value, so the descriptor stays open
    // for as long as it is registered and is closed only when the `AsyncFd` drops it.
    let fd = unsafe { AsyncFd::register_with_interest(socket, interest) }?;
    Ok(fd)
}

/// One `recv` into the unfilled part of `buf`, which is then marked filled by what was
/// received, without zeroing it first (the read buffers are up to 256 KiB).
pub(super) fn recv_into(socket: &Socket, buf: &mut ReadBuf<'_>) -> io::Result<()> {
    // SAFETY: the slice is handed only to `recv`, which writes into it and never
    // de-initialises bytes, as `unfilled_mut` requires.
    let unfilled = unsafe { buf.unfilled_mut() };
    let n = socket.recv(unfilled)?;
    // SAFETY: `recv` returned `n`: it initialised the first `n` bytes of the unfilled part.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::mem::size_of;
    use std::net::SocketAddr;

    use super::super::addr;

    /// The bytes of a libc struct, to compare with the ones built without it.
    fn bytes_of<T>(value: &T) -> Vec<u8> {
        // SAFETY: `value` is a live `T` of `size_of::<T>()` bytes; the sockaddr structs
        // used here have no padding, so every byte is initialised.
        unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
            .to_vec()
    }

    #[test]
    fn packed_addresses_have_the_kernel_layout() {
        assert_eq!(size_of::<libc::sockaddr_in>(), addr::SOCKADDR_IN_LEN);
        assert_eq!(size_of::<libc::sockaddr_in6>(), addr::SOCKADDR_IN6_LEN);

        let v4: SocketAddr = "192.0.2.9:3868".parse().unwrap();
        let c4 = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 3868u16.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes([192, 0, 2, 9]),
            },
            sin_zero: [0; 8],
        };
        assert_eq!(addr::pack(&[v4]), bytes_of(&c4));

        let v6: SocketAddr = "[2001:db8::1%4]:3868".parse().unwrap();
        let c6 = libc::sockaddr_in6 {
            sin6_family: libc::AF_INET6 as libc::sa_family_t,
            sin6_port: 3868u16.to_be(),
            sin6_flowinfo: 0,
            sin6_addr: libc::in6_addr {
                s6_addr: "2001:db8::1"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap()
                    .octets(),
            },
            sin6_scope_id: 4,
        };
        assert_eq!(addr::pack(&[v6]), bytes_of(&c6));
    }
}
