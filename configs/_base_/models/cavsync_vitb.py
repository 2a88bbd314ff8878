# CAV-MAE Sync, ViT-B/16 both branches (paper Sec. 3, SPEC §2-3). Every paper
# choice is an option here with the paper's value; the release behaviour where
# it differs is one option away (noted beside it).
model = dict(
    type='CAVMAESync',
    backbone=dict(
        type='AudioVisualEncoder',
        embed_dims=768,
        encoder_depth=11,            # blocks per modality encoder; + 1 joint block
        num_heads=12,
        mlp_ratio=4.,
        image_size=224,
        patch_size=16,
        num_mel_bins=128,
        audio_length=416,            # 4.16 s frame-aligned segment -> 8 x 26 patches
        use_global_token=True,       # False: CAV-MAE (global = patch mean)
        num_register_tokens=8,       # per modality (Table 6: 0 / 4 / 8 / 16)
        keep_register_tokens=False,  # release; True = the paper text's variant
        contrastive_head_depth=0,    # release option: 2-block contrastive heads
        norm_eps=1e-5,               # nn.LayerNorm default, as the release
        register_init='randn'),      # release; 'normal_0.02' = ViT-style init
    neck=dict(
        type='AudioVisualMAEDecoder',
        decoder_embed_dims=512,
        decoder_depth=8,
        decoder_num_heads=16,
        mlp_ratio=4.),
    contrastive_loss=dict(
        type='InfoNCELoss',
        temperature=0.05,            # tau, fixed
        symmetric=False,             # release: visual queries vs audio candidates
        loss_weight=0.1,             # lambda_c (CAV-MAE: 0.01)
        gather_across_ranks=True),   # negatives from the whole global batch
    reconstruction_loss=dict(
        type='MaskedReconstructionLoss',
        norm_pix_loss=True,          # per-patch normalised targets (MAE / CAV-MAE scripts)
        loss_weight=1.0),            # lambda_r
    mask_ratio=0.75,                 # float, or 'multi' (one U[0.6, 0.9] ratio per batch)
    multi_mask_ratio_range=(0.6, 0.9),
    contrastive_features='global',   # release option: 'global_and_local'
    data_preprocessor=dict(
        type='AudioVisualDataPreprocessor',
        mean=(123.675, 116.28, 103.53),
        std=(58.395, 57.12, 57.375)))
