# configs/retrieval/cavsync_audioset_retrieval.py reading packed shards
# (configs/_base_/datasets/audioset_retrieval_shards.py, docs/data.md):
#   python tools/test.py configs/retrieval/cavsync_audioset_retrieval_shards.py CKPT
_base_ = [
    '../_base_/models/cavsync_vitb.py',
    '../_base_/datasets/audioset_retrieval_shards.py',
    '../_base_/default_runtime.py',
    './_retrieval_evaluation.py',
]
