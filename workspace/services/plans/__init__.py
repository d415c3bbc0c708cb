"""Co-authored plans (issue #11, DESIGN.md §6 "Plans", §8): one per room, a CRDT document
edited live by the lead and members (Yjs in the browser, pycrdt here), read by everyone
in the room, published by the lead as immutable, signed versions.

`document`: the Y schema, its JSON shape, the JSON API's edits. `store`: persistence
(updates, snapshots, compaction; sealed at rest). Services taking `Access` (the choke
point): `reading` (the plan, socket sync), `editing` (JSON API edits, socket updates),
`versions` (publish, read, list). `inputs`: the API's input shapes. Working days and
statutory deadlines: `clocks`; comparing versions: `compare`; printing: `pdf`.
"""
