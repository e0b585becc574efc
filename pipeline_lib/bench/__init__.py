"""Speed benchmark of the generative recommender: training and beam-search throughput on one device.

``python -m pipeline_lib.bench <dataset> <variant>`` trains a fresh variant for a few timed repeats,
decodes the validation users by trie-constrained beam search, checks the decoder against the
reference decoders on small catalogues, and writes ``reports/bench/<device>_<dataset>_<variant>``
``.json`` and ``.md``. It reads the dataset's pipeline artifacts when present, else (or with
``--synthetic``) generates a catalogue of the paper's size (``pipeline_lib.bench.synthetic``).
"""

from pipeline_lib.bench.measure import BenchOptions
from pipeline_lib.bench.run import run_benchmark
from pipeline_lib.bench.setup import BenchSetup, load_setup
from pipeline_lib.bench.synthetic import SyntheticSize

__all__ = ["BenchOptions", "BenchSetup", "SyntheticSize", "load_setup", "run_benchmark"]
