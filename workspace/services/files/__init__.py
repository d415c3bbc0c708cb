"""End-to-end encrypted files (issue #10, DESIGN.md §5): what the server does without ever
holding a key. People publish public keys and a passphrase-sealed copy of their private
keys (`keys`); the policy says who must receive a file's key (`recipients`); an upload is
its metadata, signed manifest and sealed keys (`uploads`), then its ciphertext streamed to
a content-addressed store (`store`); files are listed, read and downloaded through the
choke point like messages (`reading`); holders wrap a key for more people, the lead's
share to someone new being a recorded sharing decision (`wrapping`). JSON shapes: `views`.
"""
