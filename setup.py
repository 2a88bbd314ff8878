from setuptools import find_packages, setup


def readme():
    with open('README.md', encoding='utf-8') as f:
        return f.read()


version = {}
with open('cavsync_mm/version.py', encoding='utf-8') as f:
    exec(f.read(), version)

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
    python_requires='>=3.9',
    install_requires=[
        'torch==2.11.*',
        'torchaudio==2.11.*',
        'torchvision==0.26.*',
        'mmengine==0.10.7',
        'mmcv-lite==2.1.0',
        'mmpretrain==1.2.0',
        'mmaction2==1.2.0',
        'decord==0.6.0',
        'soundfile',
        'av',
        'numpy',
        'scipy',
        'scikit-learn',
        'matplotlib',
        'tqdm',
        'pillow',
        'simplejpeg>=1.7,<2',  # JPEG frames (libjpeg-turbo), docs/benchmarks.md
        'litdata>=0.2.76,<0.3',  # packed shards (docs/data.md)
    ],
    extras_require={
        'tests': ['pytest', 'pytest-timeout'],
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
