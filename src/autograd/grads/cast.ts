// Gradient of cast between float dtypes: identity (gradients stay f32; f16 is a storage format here).
// Casts to i32 are not recorded (integer outputs carry no gradient).
import { registerGrad } from '../tape.js';

registerGrad('cast', {
  backward: (_c, [g]) => [g!.dtype === 'f32' ? g : g!.cast('f32')],
});
