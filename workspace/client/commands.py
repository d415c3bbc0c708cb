"""`caseroom keys init|fingerprint` and `caseroom files put|get|list`: the client side of
the command, configured by CASEROOM_URL and CASEROOM_TOKEN (DESIGN.md §6)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workspace.client import files
from workspace.client.crypto import Tampered
from workspace.client.http import Api, ApiError
from workspace.client.known import SUFFIX, KeysChanged, NotYourKeys


def _api() -> Api:
    url, token = os.environ.get("CASEROOM_URL"), os.environ.get("CASEROOM_TOKEN")
    if not url or not token:
        raise SystemExit("caseroom: set CASEROOM_URL and CASEROOM_TOKEN (caseroom token create).")
    return Api(url, token)


def _passphrase() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Passphrase for your private keys: ")
    return sys.stdin.readline().rstrip("\r\n")


def _fail(message: str) -> int:
    print(f"caseroom: {message}", file=sys.stderr)
    return 1


def keys_init(args: argparse.Namespace) -> int:
    try:
        made = files.keys_init(_api(), Path(args.key), _passphrase())
    except (FileExistsError, ValueError) as exc:
        return _fail(str(exc))
    except ApiError as exc:
        return _fail(str(exc))
    print(f"Keys published for user {made.user_id}; private keys in {args.key} (mode 0600).")
    return 0


def keys_fingerprint(args: argparse.Namespace) -> int:
    """Read from the key file alone: what others should see beside one's name."""
    try:
        key_file = files.KeyFile.read(Path(args.key))
    except (OSError, ValueError, KeyError) as exc:
        return _fail(f"cannot read the key file {args.key}: {exc}")
    print(key_file.fingerprint)
    return 0


def files_put(args: argparse.Namespace) -> int:
    try:
        key_file = files.KeyFile.read(Path(args.key))
        file_id = files.put(
            _api(), args.room_id, Path(args.path), key_file, args.sensitivity, args.kind,
            accept_new_keys=args.accept_new_keys,
        )  # fmt: skip
    except (KeysChanged, NotYourKeys) as exc:
        return _fail(f"{exc}. Nothing was uploaded.")
    except (OSError, ApiError, RuntimeError, ValueError) as exc:
        return _fail(str(exc))
    print(file_id)
    return 0


def files_get(args: argparse.Namespace) -> int:
    try:
        key_file = files.KeyFile.read(Path(args.key))
        name = files.get(_api(), args.file_id, key_file, Path(args.output),
                         accept_new_keys=args.accept_new_keys)  # fmt: skip
    except Tampered as exc:
        return _fail(
            f"the file did not verify ({exc}). Nothing was written; the failure was "
            "reported to Caseroom."
        )
    except KeysChanged as exc:
        return _fail(f"{exc}. Nothing was written.")
    except (OSError, ApiError, ValueError) as exc:
        return _fail(str(exc))
    print(f"{args.output}: {name}, verified (signature, every chunk, sha256)")
    return 0


def files_list(args: argparse.Namespace) -> int:
    try:
        items = files.list_files(_api(), args.room_id)
    except ApiError as exc:
        return _fail(str(exc))
    for item in items:
        key = "key" if item["sealed_key"] else "no key"
        print(f"{item['id']}  {item['created_at']}  {item['sensitivity']:<10}  "
              f"{item['size']:>10}  {item['uploader']['name']}  ({key})")  # fmt: skip
    return 0


ACCEPT_HELP = (
    "USER_ID's keys changed and you have compared their new fingerprint with them out of "
    "band: accept and pin the new keys (repeat for more people). Without it a changed key "
    "stops the command."
)
TOFU = (
    f"Others' keys are pinned on first use in FILE{SUFFIX} (beside the key file, mode "
    "0600): a recipient's or uploader's keys that changed since stop the command until "
    "you accept them (--accept-new-keys)."
)


def add_commands(adder: Callable[..., Any]) -> Any:
    """Called by workspace.cli.build_parser with its `add` helper; returns the `files`
    subcommands, for the server's own (`files sweep`)."""
    keys = adder("keys", lambda _a: 2, "Your end-to-end encryption keys.").add_subparsers(
        dest="keys_command", required=True
    )
    init = adder("init", keys_init, "Make keys, publish them (the private keys sealed under "
                 "a passphrase read from stdin) and save them to --key (mode 0600).", keys)
    init.add_argument("--key", required=True, metavar="FILE")
    fingerprint = adder("fingerprint", keys_fingerprint, "Print the fingerprint of your keys "
                        "(from --key alone), for others to compare with the one they see.",
                        keys)  # fmt: skip
    fingerprint.add_argument("--key", required=True, metavar="FILE")
    group = adder("files", lambda _a: 2, "End-to-end encrypted files.").add_subparsers(
        dest="files_command", required=True
    )
    put = adder("put", files_put, "Encrypt and share a file; prints its id last. " + TOFU,
                group)  # fmt: skip
    put.add_argument("room_id")
    put.add_argument("path")
    put.add_argument("--key", required=True, metavar="FILE")
    put.add_argument("--sensitivity", choices=("room", "restricted"), default="room")
    put.add_argument("--kind", choices=("fact", "opinion", "decision", "note"), default="fact")
    get = adder("get", files_get, "Download, verify and decrypt a file. " + TOFU, group)
    get.add_argument("file_id")
    get.add_argument("--key", required=True, metavar="FILE")
    get.add_argument("-o", "--output", required=True, metavar="OUT")
    for command in (put, get):
        command.add_argument("--accept-new-keys", action="append", default=[],
                             metavar="USER_ID", help=ACCEPT_HELP)  # fmt: skip
    ls = adder("list", files_list, "The files of a room you may read.", group)
    ls.add_argument("room_id")
    return group
