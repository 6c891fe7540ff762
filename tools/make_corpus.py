#!/usr/bin/env python3
"""Writes the bad-input corpus under tests/corpus/: one folder a case, holding the inputs, `args` (the percept
command line, one argument a line; {case} is the case's folder, {repo} the repository, {mlp} a 4-feature 3-class
model the test makes, {mlp-external-missing} the same with its weights in an external data file that is missing,
{run} a finished run the test makes) and `expect` (the exit code, then the start of the
one line the command must print on stderr, and maybe a part of it that must be in it). Standard library only, but for the
Parquet cases, which tools/make_table_fixtures.cs writes (it runs with `dotnet run`); rerun it to regenerate the corpus."""
import gzip, os, shutil, struct, subprocess, zlib

ROOT = os.path.join(os.path.dirname(__file__), '..', 'tests', 'corpus')
IMAGES = '{repo}/data/fashion-mnist/t10k-images-idx3-ubyte.gz'
LABELS = '{repo}/data/fashion-mnist/t10k-labels-idx1-ubyte.gz'
MODEL = '{repo}/models/fmnist-cnn/epoch-5.onnx'


def case(name, args, code, message, files=None):
    folder = os.path.join(ROOT, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for fname, data in (files or {}).items():
        path = os.path.join(folder, fname)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data if isinstance(data, bytes) else data.encode())
    with open(os.path.join(folder, 'args'), 'w') as f:
        f.write('\n'.join(args) + '\n')
    with open(os.path.join(folder, 'expect'), 'w') as f:
        f.write(f'{code}\n{message}\n')


def idx(dims, data=b'', dtype=0x08):
    return struct.pack('>BBBB', 0, 0, dtype, len(dims)) + b''.join(struct.pack('>i', d) for d in dims) + data


def npy(header, data=b''):
    text = header + ' ' * ((64 - (10 + len(header) + 1) % 64) % 64) + '\n'
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(text)) + text.encode() + data


def png_whole():
    def chunk(kind, body):
        return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body) & 0xffffffff)
    raw = b''.join(b'\x00' + bytes([x * 9 % 256 for x in range(28)]) for _ in range(28))
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 28, 28, 8, 0, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')


def png_truncated():
    full = png_whole()
    return full[:len(full) // 2]


def analyze(data, *extra, model=MODEL, out='{case}/out'):
    return ['analyze', '--model', model, '--data', data, *extra, '--out', out, '--map', 'none']


shutil.rmtree(ROOT, ignore_errors=True)
os.makedirs(ROOT)
pixels = bytes(range(256)) * 4
# IDX
case('idx-huge-dimensions', analyze('{case}/x.idx'), 1, 'error: IDX file', {'x.idx': idx([200, 65536, 65536], b'\0' * 64)})
case('idx-zero-dimension', analyze('{case}/x.idx'), 1, 'error: IDX file', {'x.idx': idx([5, 0, 28])})
case('idx-wrong-magic', analyze('{case}/x.idx'), 1, 'error: ', {'x.idx': b'\x12\x34\x08\x03' + b'\0' * 64})
case('idx-short-file', analyze('{case}/x.idx'), 1, 'error: truncated IDX file', {'x.idx': idx([10, 28, 28], pixels)})
case('idx-trailing-garbage', analyze('{case}/x.idx'), 1, 'error: IDX file', {'x.idx': idx([1, 28, 28], bytes(784) + b'garbage')})
case('idx-label-count', analyze(IMAGES, '--labels', '{case}/y.idx'), 1, 'error: label count', {'y.idx': idx([3], b'\0\1\2')})
noise = bytes((i * 7919 + (i >> 3) * 104729) % 251 for i in range(78400))
case('idx-gzip-truncated', analyze('{case}/x.idx.gz'), 1, 'error: ', {'x.idx.gz': (lambda z: z[:len(z) // 2])(gzip.compress(idx([100, 28, 28], noise)))})
# NPY
case('npy-not-npy', analyze('{case}/x.npy'), 1, 'error: not a NumPy .npy file', {'x.npy': 'hello'})
case('npy-corrupt-header', analyze('{case}/x.npy'), 1, 'error: corrupt .npy header', {'x.npy': npy("{'descr': '<f4', 'fortran_order': False}")})
case('npy-fortran-order', analyze('{case}/x.npy'), 1, 'error: ', {'x.npy': npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 28, 28), }", bytes(2 * 784 * 4))})
case('npy-object-dtype', analyze('{case}/x.npy'), 1, 'error: unsupported .npy element type', {'x.npy': npy("{'descr': '|O', 'fortran_order': False, 'shape': (2, 28, 28), }", bytes(64))})
case('npy-huge-shape', analyze('{case}/x.npy'), 1, 'error: ', {'x.npy': npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 28, 28), }", bytes(64))})
case('npy-truncated', analyze('{case}/x.npy'), 1, 'error: truncated .npy file', {'x.npy': npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 28, 28), }", bytes(784 * 4))})
# CSV (a 4-feature model the test makes)
mlp = lambda *extra, model='{mlp}': ['analyze', '--model', model, '--data', '{case}/t.csv', *extra, '--out', '{case}/out', '--map', 'none']
case('csv-ragged-row', mlp(), 1, 'error: CSV row 2', {'t.csv': 'a,b,c,d,label\n1,2,3,4,0\n1,2,3,0\n'})
case('csv-not-a-number', mlp(), 1, "error: CSV row 1 of", {'t.csv': 'a,b,c,d,label\n1,two,3,4,0\n'})
case('csv-negative-label', mlp(), 1, 'error: CSV row 2 of', {'t.csv': 'a,b,c,d,label\n1,2,3,4,0\n1,2,3,4,-1\n'})
case('csv-label-out-of-range', mlp(), 1, 'error: label 7 of sample 1 is outside', {'t.csv': 'a,b,c,d,label\n1,2,3,4,0\n1,2,3,4,7\n'})
case('csv-empty', mlp(), 1, 'error: ', {'t.csv': ''})
case('metadata-ragged', analyze(IMAGES, '--metadata', '{case}/meta.csv'), 1, 'error: metadata file', {'meta.csv': 'index,colour\n0,red\n1,blue,extra\n'})
# Models
case('onnx-not-a-model', analyze(IMAGES, model='{case}/m.onnx'), 1, 'error: ', {'m.onnx': 'this is not a model'})
with open(os.path.join(os.path.dirname(__file__), '..', 'models', 'fmnist-cnn', 'epoch-5.onnx'), 'rb') as f:
    model = f.read()
case('onnx-truncated', analyze(IMAGES, model='{case}/m.onnx'), 1, 'error: ', {'m.onnx': model[:len(model) // 8]})
flipped = bytearray(model)
for i in range(40, len(flipped), 997):
    flipped[i] ^= 0x5A
case('onnx-bit-flipped', analyze(IMAGES, model='{case}/m.onnx'), 1, 'error: ', {'m.onnx': bytes(flipped)})
# Images
case('image-truncated-strict', analyze('{case}/imgs', '--strict'), 1, 'error: ', {'imgs/a/1.png': png_truncated(), 'imgs/b/2.png': png_truncated()})
case('image-zero-bytes-strict', analyze('{case}/imgs', '--strict'), 1, 'error: ', {'imgs/a/1.png': b'', 'imgs/b/2.png': b''})
case('image-text-named-png-strict', analyze('{case}/imgs', '--strict'), 1, 'error: ', {'imgs/a/1.png': 'not an image', 'imgs/b/2.png': 'nor this'})
def png_header_only(width, height):
    def chunk(kind, body):
        return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body) & 0xffffffff)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(b'\0' * 64)) + chunk(b'IEND', b'')
case('image-20000x20000-strict', analyze('{case}/imgs', '--strict'), 1, 'error: image failed to decode', {'imgs/a/1.png': png_header_only(20000, 20000), 'imgs/b/2.png': png_header_only(20000, 20000)})
case('onnx-external-data-missing', mlp(model='{mlp-external-missing}'), 1, 'error: ', {'t.csv': 'a,b,c,d,label\n1,2,3,4,0\n'})
# Options
case('classes-count-mismatch', analyze(IMAGES, '--labels', LABELS, '--classes', '{case}/classes.txt'), 1, 'error: the class names file names 2 classes', {'classes.txt': 'cat\ndog\n'})
case('out-empty', ['analyze', '--model', MODEL, '--data', IMAGES, '--out', ''], 1, 'error: --out is empty', {})
case('batch-size-huge', analyze(IMAGES, '--batch-size', '2000000000'), 1, 'error: --batch-size 2000000000 needs', {})
case('map-dims-zero', ['analyze', '--model', MODEL, '--data', IMAGES, '--out', '{case}/out', '--map-dims', '0'], 1, 'error: --map-dims 0', {})
case('overwrite-own-inputs', ['analyze', '--model', '{case}/out/m.onnx', '--data', IMAGES, '--out', '{case}/out', '--overwrite', '--map', 'none'], 1, 'error: the model', {'out/m.onnx': 'a model the run must not delete', 'out/run.json': '{}'})
case('out-inside-image-folder', analyze('{case}/imgs', out='{case}/imgs/run'), 1, 'error: --out', {'imgs/a/1.png': png_truncated()})
case('unknown-option', ['analyze', '--model', MODEL, '--bogus'], 2, 'error: unknown option --bogus', {})
case('option-without-value', ['analyze', '--model'], 2, 'error: --model needs a value', {})
# Server
case('serve-foreign-address', ['serve', '{run}', '--host', '8.8.8.8', '--port', '0'], 1, 'error: cannot listen on 8.8.8.8', {})
case('serve-unresolvable-host', ['serve', '{run}', '--host', 'no-such-host.invalid', '--port', '0'], 1, 'error: --host no-such-host.invalid', {})
case('serve-a-shard', ['serve', '{shard1}', '--port', '0'], 1, 'error: \nis shard 1 of 3 of an analysis, not a run', {})
# Shards and their merge ({shardN} and the foreign shards are made by the test's fixture: BadInputCorpusTests.Inputs)
ONE_ROW = {'t.csv': 'a,b,c,d,label\n1,2,3,4,0\n'}
case('shard-out-of-range', ['analyze', '--model', '{mlp}', '--data', '{case}/t.csv', '--shard', '5/4', '--out', '{case}/out'], 1, 'error: --shard 5/4: no such shard (shards are 1 to 4)', ONE_ROW)
case('shard-not-a-fraction', ['analyze', '--model', '{mlp}', '--data', '{case}/t.csv', '--shard', '2', '--out', '{case}/out'], 1, 'error: --shard takes I/N', ONE_ROW)
case('shard-more-than-segments', ['analyze', '--model', '{mlp}', '--data', '{case}/t.csv', '--shard', '1/2', '--out', '{case}/out'], 1, 'error: shard 1 of 2 has no samples', ONE_ROW)
case('merge-missing-shard', ['merge', '{shard1}', '{shard3}', '--out', '{case}/out'], 1, 'error: shard 2 of 3 is missing', {})
case('merge-duplicate-shard', ['merge', '{shard1}', '{shard2}', '{shard2}', '{shard3}', '--out', '{case}/out'], 1, 'error: \nare both shard 2 of 3', {})
case('merge-foreign-model', ['merge', '{shard1}', '{shard2-other-model}', '{shard3}', '--out', '{case}/out'], 1, 'error: \nwas made with another model', {})
case('merge-foreign-data', ['merge', '{shard1}', '{shard2-other-data}', '{shard3}', '--out', '{case}/out'], 1, 'error: \nread other data', {})
case('merge-other-batch-size', ['merge', '{shard1}', '{shard2-other-batch}', '{shard3}', '--out', '{case}/out'], 1, 'error: \nwas made with batch size 128', {})
case('merge-shards-of-two-analyses', ['merge', '{shard1-of-4}', '{shard2}', '{shard3}', '--out', '{case}/out'], 1, 'error: \nshards of different analyses', {})
case('merge-a-run-not-a-shard', ['merge', '{run}', '--out', '{case}/out'], 1, 'error: \nis a run, not a shard', {})
case('merge-no-such-folder', ['merge', '{case}/nothing', '--out', '{case}/out'], 1, 'error: shard not found: ', {})
case('merge-empty-folder', ['merge', '{case}', '--out', '{case}/out'], 1, 'error: \nis neither a shard nor a folder of shards', {})
# Manifests: files the manifest names that are not there (all of them; or one, with --strict)
case('manifest-missing-files', analyze('{case}/m.csv'), 1, 'error: manifest ', {'m.csv': 'file,label\nimages/a.png,0\nimages/b.png,1\n'})
with open(os.path.join(ROOT, 'manifest-missing-files', 'expect'), 'a') as f:
    f.write('names 2 of 2 file(s) that do not exist: images/a.png, images/b.png\n')
case('manifest-missing-files-strict', analyze('{case}/m.csv', '--strict'), 1, 'error: manifest ',
     {'m.csv': 'file,label\nimages/a.png,0\nimages/b.png,1\n', 'images/a.png': png_whole()})
with open(os.path.join(ROOT, 'manifest-missing-files-strict', 'expect'), 'a') as f:
    f.write('names 1 of 2 file(s) that do not exist: images/b.png\n')
# Texts with their tokenizer (the text fixture's classifier, 16 tokens a text, and its tokenizer.json)
TEXT_MODEL = '{repo}/tests/fixtures/text/model-tokenizer-inputs.onnx'
TEXT_TOKENIZER = '{repo}/tests/fixtures/text/reviews-tokenizer.json'
REVIEWS = 'text,label\n"a great film",positive\n"the plot was dull",negative\n'
case('text-tokenizer-not-a-tokenizer', analyze('{case}/t.csv', '--text-column', 'text', '--tokenizer', '{case}/tokenizer.json', model=TEXT_MODEL), 1,
     'error: tokenizer ', {'t.csv': REVIEWS, 'tokenizer.json': '{"version": "1.0", "vocab": {"[UNK]": 0}}\n'})
with open(os.path.join(ROOT, 'text-tokenizer-not-a-tokenizer', 'expect'), 'a') as f:
    f.write("is not a Hugging Face tokenizer.json: it has no 'model' section\n")
case('text-tokenizer-binary', analyze('{case}/t.csv', '--text-column', 'text', '--tokenizer', '{case}/vocab.txt', model=TEXT_MODEL), 1,
     'error: tokenizer ', {'t.csv': REVIEWS, 'vocab.txt': png_whole()})
with open(os.path.join(ROOT, 'text-tokenizer-binary', 'expect'), 'a') as f:
    f.write('is neither a tokenizer.json nor a vocab.txt\n')
case('text-column-missing', analyze('{case}/t.csv', '--text-column', 'review', '--tokenizer', TEXT_TOKENIZER, model=TEXT_MODEL), 1,
     "error: text column 'review' not found in ", {'t.csv': REVIEWS})
case('text-without-text-column', analyze('{case}/t.csv', '--tokenizer', TEXT_TOKENIZER, model=TEXT_MODEL), 1,
     'error: --tokenizer tokenizes texts: name their column with --text-column', {'t.csv': REVIEWS})
# Exit 0: the run is made, and this warning is one line among the warnings.
case('text-longer-than-the-model', analyze('{case}/t.csv', '--text-column', 'text', '--tokenizer', TEXT_TOKENIZER, model=TEXT_MODEL), 0,
     "warning: truncated 1 of 2 texts to 16 tokens, the model's sequence length",
     {'t.csv': 'text,label\n"' + ' '.join(['the film was great and the music was wonderful'] * 4) + '",positive\n"awful",negative\n'})
# Parquet (a C# tool writes them: Python's standard library writes no Parquet)
subprocess.run(['dotnet', 'run', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'make_table_fixtures.cs'), '--', 'corpus'],
               cwd=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'), check=True)
print(f'{len(os.listdir(ROOT))} cases in {os.path.normpath(ROOT)}')
