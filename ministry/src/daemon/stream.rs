//! Bridges between the engine's blocking readers and writers and HTTP bodies: a
//! streamed response fed by a blocking thread ([`ChannelWriter`]), and a request body
//! read by one ([`BodyReader`]).

use std::io::{Read, Write};

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use tokio::sync::mpsc;

use super::http::Body;

/// The writing end of a streamed response body, for a blocking thread. Each write is
/// sent as it comes (followed streams: logs, events, progress); a write fails once the
/// client went away, which ends the producer.
pub struct ChannelWriter {
    tx: mpsc::Sender<Bytes>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            // Nothing to send; an error once the client is gone (followers poll so).
            if self.tx.is_closed() {
                return Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
            }
            return Ok(0);
        }
        self.tx
            .blocking_send(Bytes::copy_from_slice(buf))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl ChannelWriter {
    /// Sends one JSON value and a newline (Docker's JSON streams).
    pub fn send_json(&mut self, v: &serde_json::Value) -> std::io::Result<()> {
        let mut b = serde_json::to_vec(v).unwrap_or_default();
        b.push(b'\n');
        self.write_all(&b)
    }

    /// Whether the client is gone.
    pub fn closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// A streamed body and the writer that feeds it (from a blocking thread).
pub fn channel() -> (ChannelWriter, Body) {
    let (tx, body) = async_channel();
    (ChannelWriter { tx }, body)
}

/// A streamed body and the sender that feeds it (from async code).
pub fn async_channel() -> (mpsc::Sender<Bytes>, Body) {
    let (tx, mut rx) = mpsc::channel::<Bytes>(32);
    let stream = futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
            .map(|o| o.map(|b| Ok::<_, std::io::Error>(Frame::data(b))))
    });
    (tx, StreamBody::new(stream).boxed())
}

/// A streamed body fed by async writes (a client that did not upgrade gets an attach's
/// or an exec's output so); the body ends when the writer is dropped.
pub fn writer_body() -> (tokio::io::DuplexStream, Body) {
    use tokio::io::AsyncReadExt;
    let (tx, body) = async_channel();
    let (w, mut r) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let mut buf = vec![0u8; 32 * 1024];
        while let Ok(n) = r.read(&mut buf).await {
            if n == 0 || tx.send(Bytes::copy_from_slice(&buf[..n])).await.is_err() {
                break;
            }
        }
    });
    (w, body)
}

/// A request body as a blocking reader: a task moves the frames over a bounded channel.
pub struct BodyReader {
    rx: std::sync::mpsc::Receiver<Result<Bytes, String>>,
    cur: Bytes,
}

impl BodyReader {
    /// Starts moving `body` (call from the runtime).
    pub fn new(body: Incoming) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Bytes, String>>(8);
        tokio::spawn(async move {
            let mut body = body;
            while let Some(f) = body.frame().await {
                let item = match f {
                    Ok(f) => match f.into_data() {
                        Ok(d) => Ok(d),
                        Err(_) => continue,
                    },
                    Err(e) => Err(e.to_string()),
                };
                let stop = item.is_err();
                let tx = tx.clone();
                // The receiving thread blocks; sending must not block the runtime.
                let sent = tokio::task::spawn_blocking(move || tx.send(item).is_ok())
                    .await
                    .unwrap_or(false);
                if !sent || stop {
                    return;
                }
            }
        });
        BodyReader {
            rx,
            cur: Bytes::new(),
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.recv() {
                Ok(Ok(b)) => self.cur = b,
                Ok(Err(e)) => return Err(std::io::Error::other(e)),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}
