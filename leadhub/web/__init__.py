"""The dashboard's shell: the access gate of every /w/<workspace_id>/ page, the layout's
context, log in and out, and keyset pages. Imports only accounts, so every app's views.py may
use it (as every app's api.py uses leadhub/api/)."""
