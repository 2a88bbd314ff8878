"""Where does the sound-prompted heatmap's sign come from? (docs/toy_study.md §2)

Scores, on saved ``ablate.py --save-checkpoints`` models, heatmaps read at
every stage of the joint block's visual pass against the paper's global audio
token, and measures what the visual patch tokens attend to:

- ``input``: the joint block's input patch tokens (the visual encoder's
  output), ``norm1``: the same after ``norm1_visual``;
- ``attn``: the attention output of each patch, ``value``: each patch's own
  value vector through ``proj`` (what it hands to every token that attends to
  it, the global token included);
- ``resid_attn``: input + attention output, ``mlp``: the MLP output;
- ``paper``: the block output after ``visual_norm`` (the paper's map);
- ``vv``: CLIP Surgery's value-value self-attention path (Li et al. 2023)
  added to the input, then ``visual_norm`` (no MLP);
- ``prior``: the audio-free centre prior.

For each map: mIoU / mAP (``SoundPromptedSegmentationMetric``, the DenseAV
protocol) and the mean cosine on object minus background patches (its sign is
the sign of the localisation). The attention table gives, for object-patch
queries, background-patch queries and the global token, the share of
attention going to the global token, to object patches and to background
patches (averaged over heads).

    python tools/analysis_tools/heatmap_diagnostics.py \\
        --work-dir work_dirs/loc --run toy_default --seeds 0 1 2 \\
        --data-root data/toy_dev
"""
import argparse
import json
import os.path as osp
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / 'tools' / 'analysis_tools'))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/ablate')
    parser.add_argument('--run', required=True, help='run name in WORK_DIR')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--data-root', default='data/toy',
                        help='toy dataset whose segmentation set is scored '
                        '(a dev set: make_toy_dataset.py --seed 1 ...)')
    parser.add_argument('--out', default=None, help='write the figures as '
                        'JSON here')
    return parser.parse_args()


def joint_visual_stages(model, audio, frames):
    """Heatmap sources from every stage of the joint block's visual pass."""
    backbone = model.backbone
    block = backbone.joint_block
    captured = {}

    def grab(module, args):
        if len(args) > 1 and args[1] == 'visual':
            captured['input'] = args[0]

    handle = block.register_forward_pre_hook(grab)
    try:
        features = model.extract_feat(audio, frames)
    finally:
        handle.remove()
    tokens = captured['input']  # [global ; patches]
    prefix = backbone.num_prefix_tokens
    attn = block.attn
    normed = block.norm1_visual(tokens)
    batch, length, dims = normed.shape
    qkv = attn.qkv(normed).reshape(batch, length, 3, attn.num_heads,
                                   attn.head_dims).permute(2, 0, 3, 1, 4)
    query, key, value = qkv[0], qkv[1], qkv[2]
    scale = attn.head_dims**-0.5
    weights = (query @ key.transpose(-2, -1) * scale).softmax(-1)

    def merge(heads):
        return heads.transpose(1, 2).reshape(batch, length, dims)

    attended = attn.proj(merge(weights @ value))
    value_out = attn.proj(merge(value))
    vv_weights = (value @ value.transpose(-2, -1) * scale).softmax(-1)
    vv = attn.proj(merge(vv_weights @ value))
    resid = tokens + attended
    mlp = block.mlp(block.norm2_visual(resid))
    output = backbone.visual_norm(resid + mlp)
    assert torch.allclose(output[:, prefix:], features['visual_patches'],
                          atol=1e-4), 'the replayed joint pass differs'
    stages = dict(
        input=tokens, norm1=normed, attn=attended, value=value_out,
        resid_attn=resid, mlp=mlp, paper=output,
        vv=backbone.visual_norm(tokens + vv))
    stages = {k: v[:, prefix:] for k, v in stages.items()}
    return features, stages, weights, prefix


def main():
    args = parse_args()
    import ablate
    from cavsync_mm.evaluation.metrics.segmentation import \
        SoundPromptedSegmentationMetric
    from cavsync_mm.models.localizers.heatmaps import (
        audio_visual_similarity, center_prior_heatmap,
        feature_surgery_similarity, patch_grid, upsample_heatmaps)
    from cavsync_mm.registry import MODELS
    torch.set_num_threads(1)
    summary = {}
    for seed in args.seeds:
        path = osp.join(args.work_dir, 'runs', args.run, f'seed{seed}.json')
        with open(path) as f:
            run = json.load(f)['run']
        cfg = ablate.load_config(run)
        segmentation = ablate.segmentation_cache(
            cfg, args.data_root, osp.join(args.work_dir, 'cache'))
        model = MODELS.build(cfg.model)
        model.load_state_dict(torch.load(path[:-5] + '.pth')['state_dict'])
        model.eval()
        with torch.no_grad():
            data = model.data_preprocessor(dict(inputs=dict(
                audio=segmentation['audio'], frames=segmentation['frames'])))
            features, stages, weights, prefix = joint_visual_stages(
                model, **data['inputs'])
        size = tuple(segmentation['frames'].shape[-2:])
        grid = patch_grid(stages['paper'].shape[1], size)
        # object patches: more than half of the patch inside the mask
        cover = F.adaptive_avg_pool2d(
            segmentation['gt_mask'].float().unsqueeze(1), grid).flatten(1)
        on_object = cover > 0.5
        maps = {name: audio_visual_similarity(features['global_audio'],
                                              patches, grid)
                for name, patches in stages.items()}
        maps['paper_negated'] = -maps['paper']
        # the prompts' common component: the mean unit audio token of the set
        unit_audio = F.normalize(features['global_audio'], dim=-1)
        common = unit_audio.mean(0, keepdim=True)
        maps['common_prompt'] = audio_visual_similarity(
            common.expand_as(unit_audio), stages['paper'], grid)
        # CLIP Surgery's feature surgery: the prompt minus the redundant
        # (common) feature, against the unit patch tokens
        for name in ('paper', 'input'):
            maps[f'surgery_{name}'] = feature_surgery_similarity(
                features['global_audio'], stages[name], grid)
        unit_patches = F.normalize(stages['paper'], dim=-1)
        maps['surgery_centred_patches'] = torch.einsum(
            'nd,npd->np', unit_audio - common,
            unit_patches - unit_patches.mean((0, 1))).reshape(-1, *grid)
        pair = unit_audio @ unit_audio.T
        # do the global tokens know the prompted class on this set?
        labels = segmentation['gt_label']
        cross = unit_audio @ F.normalize(features['global_visual'], dim=-1).T
        class_hit = float((labels[cross.argmax(1)] == labels).float().mean())
        print('prompt -> image by global tokens: the nearest image shows '
              f'the prompted class for {100 * class_hit:.1f} % of prompts '
              f'(chance {100 / len(labels.unique()):.1f} %)')
        unit_out = F.normalize(stages['paper'], dim=-1)
        directions = dict(
            global_visual=F.normalize(features['global_visual'], dim=-1),
            object_patches=unit_out[on_object],
            background_patches=unit_out[~on_object])
        print('cosine of the common prompt direction with the mean unit ' +
              ', '.join(f'{k} {float(F.cosine_similarity(common, v.mean(0, keepdim=True))):.3f}'
                        for k, v in directions.items()))
        print('prompts: mean cosine between different prompts '
              f'{float(pair[~torch.eye(len(pair), dtype=torch.bool)].mean()):.3f}, '
              f'norm of the common unit component {float(common.norm()):.3f}')
        rows = {}
        for name, small in maps.items():
            metric = SoundPromptedSegmentationMetric()
            scores = metric.compute_metrics([
                dict(heatmap=h, gt_mask=m, label=int(label))
                for h, m, label in zip(upsample_heatmaps(small, size),
                                       segmentation['gt_mask'],
                                       segmentation['gt_label'])])
            flat = small.flatten(1)
            gap = float(flat[on_object].mean() - flat[~on_object].mean())
            rows[name] = dict(mIoU=scores['mIoU'], mAP=scores['mAP'],
                              object_minus_background=gap)
        prior = center_prior_heatmap(size).expand(len(maps['paper']), -1, -1)
        scores = SoundPromptedSegmentationMetric().compute_metrics([
            dict(heatmap=h, gt_mask=m, label=int(label)) for h, m, label in
            zip(prior, segmentation['gt_mask'], segmentation['gt_label'])])
        rows['prior'] = dict(mIoU=scores['mIoU'], mAP=scores['mAP'],
                             object_minus_background=float('nan'))
        # attention shares of the visual pass (mean over heads)
        share = weights.mean(1)  # (N, L, L)
        attention = {}
        queries = dict(object=on_object, background=~on_object)
        for name, mask in queries.items():
            rows_ = share[:, prefix:][mask]  # (Q, L)
            keys_on_object = on_object.unsqueeze(1).expand(
                -1, on_object.shape[1], -1)[mask]
            patch_part = share[:, prefix:, prefix:][mask]  # (Q, P)
            attention[name] = dict(
                to_global=float(rows_[:, 0].mean()),
                to_object=float((patch_part * keys_on_object).sum(1).mean()),
                to_background=float(
                    (patch_part * ~keys_on_object).sum(1).mean()))
        global_row = share[:, 0, prefix:]
        attention['global'] = dict(
            to_global=float(share[:, 0, 0].mean()),
            to_object=float((global_row * on_object).sum(1).mean()),
            to_background=float((global_row * ~on_object).sum(1).mean()))
        attention['object_patch_fraction'] = float(on_object.float().mean())
        summary[seed] = dict(maps=rows, attention=attention)
        print(f'seed {seed} ({args.data_root}):')
        print('| map | mIoU | mAP | object - background cosine |')
        print('|---|---|---|---|')
        for name, row in rows.items():
            print(f'| {name} | {row["mIoU"]:.1f} | {row["mAP"]:.1f} | '
                  f'{row["object_minus_background"]:+.3f} |')
        print('| queries | to global | to object | to background |')
        print('|---|---|---|---|')
        for name in ('object', 'background', 'global'):
            row = attention[name]
            print(f'| {name} | {row["to_global"]:.3f} | '
                  f'{row["to_object"]:.3f} | {row["to_background"]:.3f} |')
        print(f'object patches: {attention["object_patch_fraction"]:.3f} '
              'of all', flush=True)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(summary, f, indent=1)


if __name__ == '__main__':
    main()
