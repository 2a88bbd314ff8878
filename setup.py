import os
import os.path as osp
import platform
import shutil
import sys
import warnings

from setuptools import find_packages, setup


def readme():
    with open('README.md', encoding='utf-8') as f:
        return f.read()


version = {}
with open('cavsync_mm/version.py', encoding='utf-8') as f:
    exec(f.read(), version)


def add_mim_extension():
    """Ship configs, tools and model-index.yml as ``cavsync_mm/.mim``.

    As in mmpretrain: symlinks for an editable install (``pip install -e .``),
    copies when a wheel or sdist is built (``pip install .``). MMEngine reads
    ``_base_ = 'cavsync_mm::<folder>/<config>.py'`` and ``mim train
    cavsync_mm ...`` from there.
    """
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'copy' if platform.system() == 'Windows' else 'symlink'
    elif 'sdist' in sys.argv or 'bdist_wheel' in sys.argv:
        mode = 'copy'
    else:
        return
    repo_path = osp.dirname(osp.abspath(__file__))
    mim_path = osp.join(repo_path, 'cavsync_mm', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for filename in ['tools', 'configs', 'model-index.yml']:
        src_path = osp.join(repo_path, filename)
        if not osp.exists(src_path):
            continue
        tar_path = osp.join(mim_path, filename)
        if osp.isfile(tar_path) or osp.islink(tar_path):
            os.remove(tar_path)
        elif osp.isdir(tar_path):
            shutil.rmtree(tar_path)
        if mode == 'symlink':
            os.symlink(osp.relpath(src_path, osp.dirname(tar_path)), tar_path)
        elif osp.isfile(src_path):
            shutil.copyfile(src_path, tar_path)
        elif osp.isdir(src_path):
            shutil.copytree(src_path, tar_path,
                            ignore=shutil.ignore_patterns('__pycache__'))
        else:
            warnings.warn(f'Cannot copy {src_path}.')


# Accepted ranges; the tested versions are pinned in requirements/*.txt.
# mmcv is not listed: mmcv-lite (pip) and mmcv (mim install mmcv) both work,
# and naming one would make pip replace the other.
install_requires = [
    'torch>=2.5',  # torch.serialization.safe_globals (cavsync_mm.compat)
    'torchaudio>=2.5',
    'torchvision>=0.20',
    'numpy>=2.0',  # numpy._core (cavsync_mm.compat)
    'mmengine>=0.10.7,<1.0.0',  # compat patches target 0.10.x internals
    'mmpretrain>=1.2.0,<2.0.0',
    'mmaction2>=1.2.0,<2.0.0',
    'decord>=0.6.0',
    'soundfile',
    'av',
    'einops',
    'scipy',
    'scikit-learn',
    'matplotlib',
    'tqdm',
    'pillow',
    'faiss-cpu',  # cavsync_mm.search (a faiss GPU build serves as well)
    'simplejpeg>=1.7,<2',  # JPEG frames (libjpeg-turbo), docs/benchmarks.md
    'litdata>=0.2.76,<0.3',  # packed shards (docs/data.md)
]


def pinned(path):
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f
                if line.strip() and not line.startswith(('#', '-r'))]


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='cavsync_mm',
        version=version['__version__'],
        description='OpenMMLab toolkit for CAV-MAE Sync: self-supervised '
        'audio-visual learning with frame-aligned audio segments',
        long_description=readme(),
        long_description_content_type='text/markdown',
        packages=find_packages(exclude=('configs', 'tools', 'demo', 'tests',
                                        'projects', 'docs')),
        include_package_data=True,
        python_requires='>=3.10',
        install_requires=install_requires,
        extras_require={
            'tests': pinned('requirements/tests.txt'),
            'optional': pinned('requirements/optional.txt'),
            'tensorboard': pinned('requirements/optional.txt'),
            'demo': pinned('requirements/demo.txt'),
            'mim': ['mmcv>=2.0.0,<2.2.0', 'mmengine>=0.10.7,<1.0.0'],
            # the other shard formats, for
            # tools/analysis_tools/benchmark_shard_formats.py only (MDS pins
            # numpy<2.2)
            'shard-formats': ['webdataset>=1.0,<2', 'wids>=0.1.11,<0.2',
                              'mosaicml-streaming>=0.13,<0.14'],
            # tools/analysis_tools/mutation_test.py (not part of the CI run)
            'mutation': ['mutmut==3.8.1'],
        },
        zip_safe=False,
    )
