// The peer's own answer: face-api's AgeGenderNet (its TypeScript graph on TensorFlow.js' CPU
// backend) on float32 RGB squares of 112 pixels, for training/peer_network.py to check against.
//
//   node peer_reference.cjs MODEL_DIR SQUARES.f32 COUNT OUT.json
//
// Run from a folder whose node_modules holds @vladmandic/face-api, @tensorflow/tfjs and
// @tensorflow/tfjs-backend-wasm (training/peer_network.py installs them into its cache).
const fs = require('fs');
const path = require('path');
const bundle = '@vladmandic/face-api/dist/face-api.node-wasm.js';
const faceapi = require(require.resolve(bundle, { paths: [process.cwd()] }));

async function main() {
  const [modelDir, squaresFile, count, outFile] = process.argv.slice(2);
  const tf = faceapi.tf;
  await tf.setBackend('cpu');
  await tf.ready();
  const manifestFile = path.join(modelDir, 'age_gender_model-weights_manifest.json');
  const manifest = JSON.parse(fs.readFileSync(manifestFile));
  const weights = fs.readFileSync(path.join(modelDir, 'age_gender_model.bin'));
  const buffer = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
  faceapi.nets.ageGenderNet.loadFromWeightMap(tf.io.decodeWeights(buffer, manifest[0].weights));
  const raw = fs.readFileSync(squaresFile);
  const values = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const squares = tf.tensor4d(values, [Number(count), 112, 112, 3]);
  const input = await faceapi.toNetInput(tf.unstack(squares));
  const { gender } = faceapi.nets.ageGenderNet.forwardInput(input);
  const female = (await gender.array()).map((row) => row[1]);
  fs.writeFileSync(outFile, JSON.stringify(female));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
