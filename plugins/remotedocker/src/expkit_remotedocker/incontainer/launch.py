"""PID 2 of a remote run's container (after docker-init): set up the files, run, record.

Run by the environment's own interpreter (any Python 3), standard library only:
``python /expkit/objects/<this file's hash> /expkit/run/spec.json``.

1. Rebuild the trees the spec lists from their tree objects
   (expkit_remotedocker.store): the ``expkit`` shim under /expkit/lib, and
   the working copy under /expkit/project only where the engine could not
   mount it as an overlay of the snapshot's farm (expkit_remotedocker.farm): names
   are checked (no ``/``, ``..``), files are copied (never linked, each its own inode: a script
   that rewrites its own files must not change the store).
2. Run the command with stdout and stderr appended to /expkit/run/log.txt,
   which ``exp`` follows over SSH; SIGTERM and SIGINT are passed on.
3. Write the exit code to /expkit/run/exit_code (atomically), then exit with it.

A missing object ends the run with code 97 and a line saying so.
"""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys

RUN = "/expkit/run"
OBJECTS = "/expkit/objects"
MISSING_OBJECT = 97


class Missing(Exception):
    pass


def _object(name):
    path = os.path.join(OBJECTS, name)
    if len(name) != 64 or not os.path.isfile(path):
        raise Missing(name)
    return path


def materialise(tree, dest):
    with open(_object(tree), "rb") as handle:
        entries = json.loads(handle.read().decode("utf-8"))
    os.makedirs(dest, exist_ok=True)
    for name, kind, ref, mode in entries:
        if not name or "/" in name or "\0" in name or name in (".", ".."):
            raise ValueError(f"bad name in tree {tree}: {name!r}")
        path = os.path.join(dest, name)
        if kind == "d":
            materialise(ref, path)
        elif kind == "l":
            os.symlink(ref, path)
        else:
            copy(_object(ref), path, mode)


def copy(source, dest, mode):
    """A private copy of an object (its own inode: the store never changes with it).

    Plain descriptors and sendfile: shutil.copyfile's checks and buffered files cost
    more than the copy for thousands of small files on a busy VM.
    """
    src = os.open(source, os.O_RDONLY)
    try:
        dst = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            try:
                while os.sendfile(dst, src, None, 1 << 30):
                    pass
            except OSError as exc:  # a file system without sendfile between files
                if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
                    raise
                with open(source, "rb") as inp, open(dest, "wb") as out:
                    shutil.copyfileobj(inp, out)
            os.fchmod(dst, mode)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def write_exit(code):
    temp = os.path.join(RUN, "exit_code.tmp")
    with open(temp, "w") as handle:
        handle.write(f"{code}\n")
    os.replace(temp, os.path.join(RUN, "exit_code"))


def main():
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    log = open(os.path.join(RUN, "log.txt"), "ab", buffering=0)
    try:
        for tree, dest in spec["trees"]:
            materialise(tree, dest)
        os.makedirs(spec["outputs"], exist_ok=True)
    except Missing as exc:
        message = "exp: the VM's object store lacks {}: run again (expkit resends it)\n"
        log.write(message.format(exc).encode())
        write_exit(MISSING_OBJECT)
        return MISSING_OBJECT
    env = dict(os.environ)
    env.update(spec.get("env") or {})
    try:
        child = subprocess.Popen(spec["argv"], stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, cwd=spec["cwd"], env=env)  # fmt: skip
    except OSError as exc:
        log.write("exp: cannot start {}: {}\n".format(spec["argv"][0], exc).encode())
        write_exit(127)
        return 127

    def forward(signum, _frame):
        try:
            child.send_signal(signum)
        except OSError:
            pass

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    code = child.wait()
    code = 128 - code if code < 0 else code
    write_exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
