"""lvs-lab guest agent: runs commands for the host over virtio-serial ports.

Why an agent and not sshd: the VM has no network device at all (the lab must
never touch the machine's network), and a virtio-serial port costs no boot
time. One agent serves every port named "lvs.agent.*"; each port is one host
connection (a host process takes a free port), and each connection carries
many concurrent requests.

Frames, both ways: type (u8), request id (u32, big endian), payload length
(u32, big endian), payload. The host side is src/lab/protocol.ts; the two
must agree on the numbers below.
"""

import asyncio
import fcntl
import json
import os
import signal
import struct
import sys

HEADER = struct.Struct(">BII")
MAX_PAYLOAD = 1 << 20

# host -> agent
HELLO = 1
SPAWN = 2
STDIN = 3
SIGNAL = 4
READ = 5
WRITE = 6
# agent -> host
STDOUT = 16
STDERR = 17
EXIT = 18

CHUNK = 256 * 1024
F_SETPIPE_SZ = 1031
HIGH_WATER = 4 << 20
# A daemon that forks and keeps the pipes open must not hang its caller:
# once the process itself exited, its output is read for this long only.
PIPE_GRACE = 0.2
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "TERM": "dumb",
}


def log(msg):
    sys.stderr.write("lvs-lab agent: %s\n" % msg)
    sys.stderr.flush()


class Port:
    """One virtio-serial port: a byte pipe to one host connection at a time."""

    def __init__(self, loop, path, name):
        self.loop = loop
        self.path = path
        self.name = name
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.writing = False
        self.reading = False
        self.drained = asyncio.Event()
        self.drained.set()
        self.requests = {}
        self.start_reading()

    def start_reading(self):
        if not self.reading:
            self.loop.add_reader(self.fd, self.on_readable)
            self.reading = True

    def stop_reading(self):
        if self.reading:
            self.loop.remove_reader(self.fd)
            self.reading = False

    def on_readable(self):
        try:
            data = os.read(self.fd, MAX_PAYLOAD + HEADER.size)
        except BlockingIOError:
            return
        if not data:
            # The kernel reports a closed host side as end of file and keeps
            # the fd readable (POLLHUP) until the host connects again.
            self.disconnected()
            return
        self.inbuf += data
        self.parse()

    def disconnected(self):
        self.stop_reading()
        self.reset("host disconnected")
        self.loop.call_later(0.02, self.poll_reconnect)

    def poll_reconnect(self):
        try:
            data = os.read(self.fd, MAX_PAYLOAD + HEADER.size)
        except BlockingIOError:
            self.start_reading()
            return
        if not data:
            self.loop.call_later(0.02, self.poll_reconnect)
            return
        self.inbuf += data
        self.start_reading()
        self.parse()

    def reset(self, why):
        """A new host connection starts clean: what the last one left running dies."""
        for req in list(self.requests.values()):
            req.abandon()
        self.requests.clear()
        self.inbuf.clear()
        self.outbuf.clear()
        if self.writing:
            self.loop.remove_writer(self.fd)
            self.writing = False
        self.drained.set()

    def parse(self):
        while len(self.inbuf) >= HEADER.size:
            kind, rid, size = HEADER.unpack_from(self.inbuf)
            if size > MAX_PAYLOAD:
                log("%s: frame of %d bytes, resetting" % (self.name, size))
                self.reset("bad frame")
                return
            if len(self.inbuf) < HEADER.size + size:
                return
            payload = bytes(self.inbuf[HEADER.size:HEADER.size + size])
            del self.inbuf[:HEADER.size + size]
            try:
                self.dispatch(kind, rid, payload)
            except Exception as e:  # a bad request must not kill the agent
                self.send_exit(rid, {"exitCode": 125, "error": "agent: %s" % e})

    def dispatch(self, kind, rid, payload):
        if kind == HELLO:
            self.reset("hello")
            with open("/proc/uptime") as f:
                uptime = float(f.read().split()[0])
            self.send(HELLO, rid, json.dumps({
                "protocol": 1,
                "release": os.uname().release,
                "uptime": uptime,
                "port": self.name,
            }).encode())
        elif kind == SPAWN:
            req = Command(self, rid, json.loads(payload))
            self.requests[rid] = req
            req.task = asyncio.ensure_future(req.run_reporting())
        elif kind == STDIN:
            req = self.requests.get(rid)
            if req is not None:
                req.stdin(payload)
        elif kind == SIGNAL:
            req = self.requests.get(rid)
            if req is not None:
                req.signal(json.loads(payload)["signal"])
        elif kind == READ:
            self.read_file(rid, json.loads(payload))
        elif kind == WRITE:
            self.requests[rid] = FileWrite(self, rid, json.loads(payload))
        else:
            self.send_exit(rid, {"exitCode": 125, "error": "agent: unknown frame type %d" % kind})

    def read_file(self, rid, req):
        try:
            with open(req["path"], "rb") as f:
                while True:
                    chunk = f.read(CHUNK)
                    if not chunk:
                        break
                    self.send(STDOUT, rid, chunk)
        except FileNotFoundError:
            self.send_exit(rid, {"exitCode": 1, "notFound": True})
            return
        except OSError as e:
            self.send_exit(rid, {"exitCode": 1, "error": "%s: %s" % (req["path"], e.strerror)})
            return
        self.send_exit(rid, {"exitCode": 0})

    def send_exit(self, rid, body):
        self.requests.pop(rid, None)
        self.send(EXIT, rid, json.dumps(body).encode())

    def send(self, kind, rid, payload=b""):
        for start in range(0, max(len(payload), 1), MAX_PAYLOAD):
            part = payload[start:start + MAX_PAYLOAD]
            self.outbuf += HEADER.pack(kind, rid, len(part)) + part
        self.flush()

    def flush(self):
        while self.outbuf:
            try:
                n = os.write(self.fd, self.outbuf[:MAX_PAYLOAD])
            except BlockingIOError:
                break
            except OSError as e:
                log("%s: write failed: %s" % (self.name, e))
                self.outbuf.clear()
                break
            del self.outbuf[:n]
        if self.outbuf and not self.writing:
            self.loop.add_writer(self.fd, self.flush)
            self.writing = True
        elif not self.outbuf and self.writing:
            self.loop.remove_writer(self.fd)
            self.writing = False
        if len(self.outbuf) > HIGH_WATER:
            self.drained.clear()
        else:
            self.drained.set()


class Command:
    """One spawned process: its pipes, timeout, signals and exit report."""

    def __init__(self, port, rid, spec):
        self.port = port
        self.rid = rid
        self.spec = spec
        self.proc = None
        self.task = None
        self.pending_stdin = []
        self.stdin_closed = False
        self.live = True

    async def run_reporting(self):
        """run(), and whatever goes wrong in the agent, the host still gets an exit frame."""
        try:
            await self.run()
        except Exception as e:  # never leave the host waiting for an exit that will not come
            log("request %d: %r" % (self.rid, e))
            self.killpg(signal.SIGKILL)
            self.finish({"exitCode": 125, "stderr": "lvs-lab agent: %s\n" % e})

    async def run(self):
        spec = self.spec
        env = dict(BASE_ENV)
        env.update(spec.get("env") or {})
        want_stdin = bool(spec.get("stdin"))
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *spec["argv"],
                stdin=asyncio.subprocess.PIPE if want_stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=spec.get("cwd") or "/",
                start_new_session=True,
            )
        except FileNotFoundError:
            self.finish({"exitCode": 127, "stderr": "%s: command not found\n" % spec["argv"][0]})
            return
        except PermissionError:
            self.finish({"exitCode": 126, "stderr": "%s: permission denied\n" % spec["argv"][0]})
            return
        self.widen_pipes()
        if want_stdin:
            for chunk in self.pending_stdin:
                self.write_stdin(chunk)
            self.pending_stdin = []
        pumps = [
            asyncio.ensure_future(self.pump(self.proc.stdout, STDOUT)),
            asyncio.ensure_future(self.pump(self.proc.stderr, STDERR)),
        ]
        timeout = spec.get("timeoutMs")
        timed_out = False
        try:
            await asyncio.wait_for(self.proc.wait(), timeout / 1000.0 if timeout else None)
        except asyncio.TimeoutError:
            timed_out = True
            self.killpg(signal.SIGKILL)
            await self.proc.wait()
        done, rest = await asyncio.wait(pumps, timeout=PIPE_GRACE)
        for p in rest:
            p.cancel()
        code = self.proc.returncode
        body = {"exitCode": code}
        if code < 0:
            body = {"exitCode": 128 - code, "signal": signal.Signals(-code).name}
        if timed_out:
            body = {"exitCode": 124, "timedOut": True}
        self.finish(body)

    def widen_pipes(self):
        """1 MiB output pipes: with the default 64 KiB, a fast writer (cat of a
        pcap) and the agent ping-pong on a full pipe, which costs a context
        switch per 64 KiB under TCG (F_SETPIPE_SZ, fcntl(2))."""
        transport = getattr(self.proc, "_transport", None)
        for fd_no in (1, 2):
            pipe = transport.get_pipe_transport(fd_no) if transport else None
            if pipe is None:
                continue
            try:
                fcntl.fcntl(pipe.get_extra_info("pipe").fileno(), F_SETPIPE_SZ, 1 << 20)
            except (OSError, AttributeError, ValueError):
                # ValueError: a fast command already exited and its pipe is closed.
                pass

    def finish(self, body):
        if self.live:
            self.live = False
            if "stderr" in body:
                self.port.send(STDERR, self.rid, body.pop("stderr").encode())
            self.port.send_exit(self.rid, body)

    async def pump(self, stream, kind):
        while True:
            chunk = await stream.read(CHUNK)
            if not chunk:
                return
            if self.live:
                self.port.send(kind, self.rid, chunk)
                await self.port.drained.wait()

    def stdin(self, data):
        if self.proc is None:
            self.pending_stdin.append(data)
        else:
            self.write_stdin(data)

    def write_stdin(self, data):
        pipe = self.proc.stdin
        if pipe is None or self.stdin_closed:
            return
        try:
            if data:
                pipe.write(data)
            else:
                self.stdin_closed = True
                pipe.close()
        except (BrokenPipeError, ConnectionResetError):
            self.stdin_closed = True

    def killpg(self, sig):
        if self.proc is None or self.proc.returncode is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            self.proc.send_signal(sig)

    def signal(self, name):
        self.killpg(getattr(signal, name))

    def abandon(self):
        self.live = False
        self.killpg(signal.SIGKILL)


class FileWrite:
    """Atomic write: collect the bytes, then temp file in the same dir + rename."""

    def __init__(self, port, rid, spec):
        self.port = port
        self.rid = rid
        self.path = spec["path"]
        self.mode = spec.get("mode", 0o644)
        self.data = bytearray()

    def stdin(self, data):
        if data:
            self.data += data
            return
        tmp = "%s.lvs-lab-%d.tmp" % (self.path, self.rid)
        try:
            os.makedirs(os.path.dirname(self.path) or "/", exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, self.mode)
            try:
                os.write(fd, self.data)
                os.fchmod(fd, self.mode)
            finally:
                os.close(fd)
            os.rename(tmp, self.path)
        except OSError as e:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            self.port.send_exit(self.rid, {"exitCode": 1, "error": "%s: %s" % (self.path, e.strerror)})
            return
        self.port.send_exit(self.rid, {"exitCode": 0})

    def signal(self, name):
        self.port.send_exit(self.rid, {"exitCode": 130, "error": "write cancelled"})

    def abandon(self):
        self.data.clear()


def find_ports():
    ports = []
    base = "/sys/class/virtio-ports"
    for entry in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        try:
            with open(os.path.join(base, entry, "name")) as f:
                name = f.read().strip()
        except OSError:
            continue
        if name.startswith("lvs.agent."):
            ports.append(("/dev/" + entry, name))
    return ports


def main():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ports = []
    for path, name in find_ports():
        try:
            ports.append(Port(loop, path, name))
        except OSError as e:
            log("cannot open %s (%s): %s" % (path, name, e))
    if not ports:
        log("no lvs.agent.* virtio-serial port; is virtio_console loaded?")
        sys.exit(1)
    log("serving %s" % ", ".join(p.name for p in ports))
    loop.run_forever()


if __name__ == "__main__":
    main()
