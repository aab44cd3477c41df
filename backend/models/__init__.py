"""Model utilities: the arithmetic demo zoo (``backend.models.zoo``) and tensor streaming
(``backend.models.tensors``). Import the submodules directly; nothing heavy loads here."""
