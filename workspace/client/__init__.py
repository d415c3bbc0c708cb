"""A small client for agencies' systems (issue #10 item 5): end-to-end encrypted files
without a browser, in the format of docs/file-format.md, behind `caseroom keys init` and
`caseroom files put|get|list` (CASEROOM_URL, CASEROOM_TOKEN). It talks to a Caseroom server
over HTTP like any other client and never imports the server's code beyond the shared
format (workspace/fileformat.py)."""
