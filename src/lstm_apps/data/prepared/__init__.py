"""The prepared store: a corpus encoded once into memory-mapped columns (``store.py``), its
variable-length rows (``sequence_arrays.py``), and the lock under which one process of a job
prepares it while the others wait (``lock.py``)."""
