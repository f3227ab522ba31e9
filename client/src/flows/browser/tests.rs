use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use rstest::rstest;
use tokio::io::ReadBuf;

use super::*;

const STATE: &str = "st4te-Of-This-Login";

/// A callback connection whose reads return exactly the given segments (a segment longer
/// than the reader's buffer is split at the buffer's size), then end of stream; what the
/// client answers is kept. It lets a test decide how the request is split into reads, which
/// a real socket does not.
#[derive(Default)]
struct Conn {
    reads: VecDeque<Vec<u8>>,
    written: Vec<u8>,
}

impl Conn {
    fn new<I: IntoIterator<Item = Vec<u8>>>(segments: I) -> Conn {
        Conn {
            reads: segments.into_iter().collect(),
            written: Vec::new(),
        }
    }

    fn answer(&self) -> String {
        String::from_utf8(self.written.clone()).unwrap()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(mut seg) = self.reads.pop_front() {
            let n = seg.len().min(buf.remaining());
            buf.put_slice(&seg[..n]);
            if n < seg.len() {
                seg.drain(..n);
                self.reads.push_front(seg);
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.written.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn request(target: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n")
}

/// `request` cut into pieces of `size` bytes.
fn pieces(request: &str, size: usize) -> Vec<Vec<u8>> {
    request
        .as_bytes()
        .chunks(size)
        .map(<[u8]>::to_vec)
        .collect()
}

/// The issuer of the tests' logins.
const ISSUER: &str = "http://127.0.0.1:9";

async fn read(conn: &mut Conn) -> Result<Option<Callback>> {
    read_with_issuer(conn, false).await
}

async fn read_with_issuer(conn: &mut Conn, required: bool) -> Result<Option<Callback>> {
    let issuer = IssuerRule {
        expected: ISSUER.to_owned(),
        required,
    };
    read_callback(conn, &Secret::new(STATE), &issuer).await
}

/// The code the callback delivered, if it delivered one.
fn code_of(r: &Result<Option<Callback>>) -> Option<String> {
    match r {
        Ok(Some(Callback::Code(c))) => Some(c.expose().to_owned()),
        // allow(broad-suppress): anything but a code fails the caller's assertion, which prints it
        _ => None,
    }
}

/// How a test request is cut into reads.
#[derive(Debug, Clone, Copy)]
enum Split {
    /// Pieces of this many bytes.
    Every(usize),
    /// Two reads, the second starting in the middle of the final `\r\n\r\n`.
    InsideBlankLine,
}

/// A browser may send the request in several TCP segments, and a long query string does not
/// fit in one read: the callback is parsed only once the whole head (up to the blank line)
/// has arrived, never from its first piece.
#[rstest]
#[case::byte_by_byte(Split::Every(1))]
#[case::in_small_pieces(Split::Every(7))]
#[case::inside_the_blank_line(Split::InsideBlankLine)]
#[tokio::test]
async fn callback_request_split_across_reads_is_read_whole(#[case] split: Split) {
    let req = request(&format!("/callback?code=the-code&state={STATE}"));
    let segments = match split {
        Split::Every(size) => pieces(&req, size),
        Split::InsideBlankLine => {
            let (a, b) = req.split_at(req.len() - 2);
            vec![a.as_bytes().to_vec(), b.as_bytes().to_vec()]
        }
    };
    let r = read(&mut Conn::new(segments)).await;
    assert_eq!(code_of(&r).as_deref(), Some("the-code"), "{r:?}");
}

/// The reader's buffer is 1 KiB; a request line longer than that (a long code, extra
/// parameters) must still be read to its end.
#[tokio::test]
async fn callback_request_longer_than_one_read_is_read_whole() {
    let pad = "p".repeat(1500);
    let req = request(&format!("/callback?pad={pad}&code=the-code&state={STATE}"));
    let r = read(&mut Conn::new([req.into_bytes()])).await;
    assert_eq!(code_of(&r).as_deref(), Some("the-code"), "{r:?}");
}

/// A peer on the callback port may send an endless head: once more than 16 KiB has been
/// read without the blank line that ends it, the request is refused rather than buffered
/// without bound. Exactly 16 KiB is still within the limit, and the limit holds whatever
/// sizes the reads come in (reads of 1000 bytes step over 16384 without landing on it).
#[rstest]
#[case::exactly_16_kib_in_full_reads(1024, 16 * 1024, true)]
#[case::one_byte_over_16_kib(1024, 16 * 1024 + 1, false)]
#[case::over_16_kib_in_reads_that_skip_the_limit(1000, 17_000, false)]
#[case::half_the_limit_in_small_reads(100, 8 * 1024, true)]
#[tokio::test]
async fn callback_head_is_limited_to_16_kib(
    #[case] read_size: usize,
    #[case] head_len: usize,
    #[case] accepted: bool,
) {
    let mut head = format!("GET /callback?code=the-code&state={STATE} HTTP/1.1\r\nX-Pad: ");
    head.push_str(&"a".repeat(head_len - head.len()));
    let mut segments = pieces(&head, read_size);
    // The blank line comes in a read of its own, after the limit has been checked.
    segments.push(b"\r\n\r\n".to_vec());
    let r = read(&mut Conn::new(segments)).await;
    if accepted {
        assert_eq!(code_of(&r).as_deref(), Some("the-code"), "{r:?}");
    } else {
        assert!(
            matches!(&r, Err(Error::Malformed { detail, .. }) if detail == "request too large"),
            "{r:?}"
        );
    }
}

/// What the authorization server sent back decides the outcome: `access_denied` is the
/// person saying no (with the server's description), any other error is passed on by its
/// code, and a callback without a usable code is an `invalid_request`, never an attempt to
/// exchange an empty code.
#[rstest]
#[case::code("code=abc", "code abc")]
#[case::denied_with_description(
    "error=access_denied&error_description=not+now",
    "denied Some(\"not now\")"
)]
#[case::denied_without_description("error=access_denied", "denied None")]
#[case::other_error("error=server_error&error_description=boom", "error server_error")]
#[case::empty_code("code=", "error invalid_request")]
#[case::no_code("", "error invalid_request")]
#[tokio::test]
async fn callback_outcome_follows_the_authorization_response(
    #[case] query: &str,
    #[case] want: &str,
) {
    let req = request(&format!("/callback?{query}&state={STATE}"));
    let r = read(&mut Conn::new([req.into_bytes()])).await;
    let got = match r {
        Ok(Some(Callback::Code(c))) => format!("code {}", c.expose()),
        Ok(Some(Callback::Denied(d))) => format!("denied {d:?}"),
        Ok(Some(Callback::OtherError(e))) => format!("error {e}"),
        other => panic!("{other:?}"),
    };
    assert_eq!(got, want);
}

/// RFC 9207 §2.4: an `iss` in the authorization response must be this login's issuer (a
/// response from another server is a mix-up and is refused, error responses included), and a
/// server that promises `iss` must send it; without the promise a response without `iss` is
/// accepted.
#[rstest]
#[case::same_issuer("code=abc&iss=http%3A%2F%2F127.0.0.1%3A9", false, None)]
#[case::same_issuer_trailing_slash("code=abc&iss=http%3A%2F%2F127.0.0.1%3A9%2F", true, None)]
#[case::absent_not_promised("code=abc", false, None)]
#[case::other_issuer(
    "code=abc&iss=https%3A%2F%2Fevil.example",
    false,
    Some("came from issuer \"https://evil.example\", not \"http://127.0.0.1:9\"")
)]
#[case::other_issuer_on_an_error(
    "error=access_denied&iss=https%3A%2F%2Fevil.example",
    false,
    Some("came from issuer")
)]
#[case::absent_but_promised(
    "code=abc",
    true,
    Some("names no issuer although http://127.0.0.1:9 promises one")
)]
#[tokio::test]
async fn the_authorization_response_issuer_must_be_this_logins(
    #[case] query: &str,
    #[case] required: bool,
    #[case] refused: Option<&str>,
) {
    let req = request(&format!("/callback?{query}&state={STATE}"));
    let r = read_with_issuer(&mut Conn::new([req.into_bytes()]), required).await;
    match (r, refused) {
        (Ok(Some(_)), None) => {}
        (Err(e @ Error::AuthorizationIssuerMismatch { .. }), Some(text)) => {
            assert!(e.to_string().contains(text), "{e}");
            assert_eq!(e.category().name(), "access_denied");
        }
        (other, want) => panic!("unexpected {other:?}, wanted refusal {want:?}"),
    }
}

/// Anything but `/callback` (a browser's `/favicon.ico`) is answered 404 and is not the
/// login's outcome.
#[tokio::test]
async fn other_paths_get_404_and_are_not_the_callback() {
    let mut conn = Conn::new([request("/favicon.ico").into_bytes()]);
    let r = read(&mut conn).await;
    assert!(matches!(r, Ok(None)), "{r:?}");
    assert!(
        conn.answer().starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{}",
        conn.answer()
    );
}

/// The page answered to the browser has a status line whose reason phrase belongs to its
/// status, and a Content-Length that covers exactly the page.
#[rstest]
#[case::ok(200, "HTTP/1.1 200 OK\r\n")]
#[case::not_found(404, "HTTP/1.1 404 Not Found\r\n")]
#[case::bad_request(400, "HTTP/1.1 400 Bad Request\r\n")]
#[tokio::test]
async fn answer_page_has_a_matching_status_line(#[case] status: u16, #[case] line: &str) {
    let mut conn = Conn::default();
    respond(&mut conn, status, "Title", "Body text").await;
    let answer = conn.answer();
    assert!(answer.starts_with(line), "{answer}");
    let (head, page) = answer.split_once("\r\n\r\n").unwrap();
    assert!(
        head.contains(&format!("\r\nContent-Length: {}\r\n", page.len())),
        "{answer}"
    );
    assert!(page.contains("<h1>Title</h1><p>Body text</p>"), "{page}");
}

/// The failure page quotes the error, which can carry server-supplied text: it is shown as
/// text, never interpreted as markup.
#[test]
fn error_text_on_the_page_is_html_escaped() {
    assert_eq!(
        html_escape("bad <script>alert(1)</script> & more"),
        "bad &lt;script&gt;alert(1)&lt;/script&gt; &amp; more"
    );
    assert_eq!(html_escape("plain text"), "plain text");
}

/// `state` is compared byte for byte: equal only when identical, and unequal values are
/// never reported equal, not even when their differences would cancel out if combined
/// carelessly (two bytes swapped differ by the same bits twice).
#[rstest]
#[case::identical(b"abc", b"abc", true)]
#[case::both_empty(b"", b"", true)]
#[case::last_byte_differs(b"abc", b"abd", false)]
#[case::shorter(b"abc", b"ab", false)]
#[case::empty_against_value(b"", b"abc", false)]
#[case::two_bytes_swapped(b"ab", b"ba", false)]
#[case::same_difference_twice(b"aaxa", b"bbxa", false)]
fn state_compare_matches_only_identical_values(
    #[case] a: &[u8],
    #[case] b: &[u8],
    #[case] equal: bool,
) {
    assert_eq!(constant_time_eq(a, b), equal);
    assert_eq!(constant_time_eq(b, a), equal);
}

/// Only a taken port is reported as "port in use" (whose hint says to choose another
/// `--port`); any other failure to listen is an I/O error with its cause.
#[rstest]
#[case::taken_fixed_port(
    Some(8123),
    io::ErrorKind::AddrInUse,
    "port 8123 on 127.0.0.1 is already in use"
)]
#[case::taken_random_port(
    None,
    io::ErrorKind::AddrInUse,
    "port 0 on 127.0.0.1 is already in use"
)]
#[case::refused(
    Some(80),
    io::ErrorKind::PermissionDenied,
    "failed to listen on 127.0.0.1 for the login callback"
)]
#[case::out_of_descriptors(
    None,
    io::ErrorKind::Other,
    "failed to listen on 127.0.0.1 for the login callback"
)]
fn listen_failures_blame_the_port_only_when_it_is_taken(
    #[case] port: Option<u16>,
    #[case] kind: io::ErrorKind,
    #[case] message: &str,
) {
    let e = listen_error(port, io::Error::from(kind));
    assert_eq!(e.to_string(), message);
    let taken = kind == io::ErrorKind::AddrInUse;
    assert_eq!(matches!(e, Error::PortInUse { .. }), taken, "{e:?}");
    assert_eq!(matches!(e, Error::Io { .. }), !taken, "{e:?}");
}
