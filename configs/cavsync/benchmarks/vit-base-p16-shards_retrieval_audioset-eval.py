# configs/cavsync/benchmarks/vit-base-p16_retrieval_audioset-eval.py reading packed shards
# (configs/_base_/datasets/audioset_retrieval_shards.py, docs/data.md):
#   python tools/test.py configs/cavsync/benchmarks/vit-base-p16-shards_retrieval_audioset-eval.py CKPT
_base_ = [
    '../../_base_/models/cavsync_vitb.py',
    '../../_base_/datasets/audioset_retrieval_shards.py',
    '../../_base_/default_runtime.py',
    '../../_base_/retrieval_evaluation.py',
]
