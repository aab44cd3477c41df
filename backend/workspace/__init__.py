"""The workspace: a folder with a SQLite registry of runs and one folder per run."""
from backend.workspace.atomic import atomic_dir, atomic_write_bytes, atomic_write_json, atomic_write_text
from backend.workspace.store import RunRecord, Workspace, WorkspaceReadOnly, default_workspace_dir

__all__ = [
    "RunRecord", "Workspace", "WorkspaceReadOnly", "atomic_dir", "atomic_write_bytes", "atomic_write_json",
    "atomic_write_text", "default_workspace_dir",
]
