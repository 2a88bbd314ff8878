# Linear probing on VGGSound (paper Sec. 3.5.2, Table 9): the AS-20K probe
# with CE over 309 classes and top-1 accuracy (mmpretrain Accuracy);
# lr 1e-3, 10 epochs, 1 warmup epoch, class-balanced sampling, mixup,
# weight averaging.
#   python tools/train.py configs/cavsync/benchmarks/vit-base-p16_temporal-probe_1xb48-10e_vggsound.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=PRETRAINED.pth
_base_ = './vit-base-p16_temporal-probe_1xb48-15e_as20k.py'
data_root = 'data/vggsound'
num_classes = 309
# single-label: softmax cross-entropy against gt_score (one-hot, or mixed by
# mixup), averaged over clips as the release's CrossEntropyLoss
model = dict(head=dict(
    _delete_=True, type='mmpretrain.LinearClsHead', num_classes=num_classes,
    in_channels=_base_.token_width,
    loss=dict(type='mmpretrain.CrossEntropyLoss'),
    init_cfg=_base_.model.head.init_cfg))

train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassBalancedSampler'),
    dataset=dict(dataset=dict(data_root=data_root,
                              label_file='class_labels_indices_vgg.csv',
                              ann_file='vgg_train_cleaned.json')))
val_dataloader = dict(
    dataset=dict(data_root=data_root,
                 label_file='class_labels_indices_vgg.csv',
                 ann_file='vgg_test_cleaned.json'))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='mmpretrain.Accuracy', topk=(1, ))
test_evaluator = val_evaluator

max_epochs = 10
warmup_epochs = 1
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
# weight averaging from the second epoch on
custom_hooks = [dict(_base_.custom_hooks[0], begin_epoch=1)]
