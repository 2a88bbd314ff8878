# CAV-MAE Sync zero-shot retrieval on the VGGSound 5-per-class subset (1,545
# clips, the authors' datafile with its <YOUR_VGGS_PATH> placeholder)
# (paper Table 1: V->A 27.9 / 52.4 / 62.2, A->V 23.2 / 46.2 / 58.1).
#   python tools/test.py configs/cavsync/benchmarks/vit-base-p16_retrieval_vggsound-eval.py CKPT \
#       --cfg-options test_dataloader.dataset.data_root=/path/to/vggsound
_base_ = [
    '../../_base_/models/cavsync_vitb.py',
    '../../_base_/datasets/vggsound_retrieval.py',
    '../../_base_/default_runtime.py',
    '../../_base_/retrieval_evaluation.py',
]
