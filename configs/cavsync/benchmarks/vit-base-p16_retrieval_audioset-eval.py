# CAV-MAE Sync zero-shot retrieval on CAV-MAE's AudioSet evaluation subset
# (paper Table 1: V->A R@1/5/10 35.2 / 58.3 / 67.6, A->V 27.9 / 51.7 / 61.8).
#   python tools/test.py configs/cavsync/benchmarks/vit-base-p16_retrieval_audioset-eval.py CKPT \
#       --cfg-options test_dataloader.dataset.data_root=/path/to/audioset
_base_ = [
    '../../_base_/models/cavsync_vitb.py',
    '../../_base_/datasets/audioset_retrieval.py',
    '../../_base_/default_runtime.py',
    '../../_base_/retrieval_evaluation.py',
]
