// Package imageio decodes photos within size bounds and preprocesses them into model input tensors as Pillow and torchvision would.
//
// # Decoding
//
// Decode, DecodeBytes and DecodeFile accept JPEG, PNG, GIF (first frame), BMP and WebP, sniffed
// from the content. The header is read first and an image above DecodeOptions.MaxPixels (100 MP
// by default) or with a zero side is refused before any pixel memory is allocated. The result
// is packed 8-bit RGB equal (JPEG: within ±1 from IDCT rounding) to Pillow's
// ImageOps.exif_transpose(Image.open(f)).convert("RGB"):
//   - alpha is dropped from the straight (non-premultiplied) colour; palettes are looked up;
//   - CMYK/YCCK JPEGs use Pillow's cmyk2rgb formula;
//   - JPEG chroma is upsampled and converted as libjpeg-turbo does (fancy upsampling), lossy
//     WebP as libwebp does (fancy upsampling, BT.601 studio-range YUV);
//   - 16-bit samples keep their high byte. Deviation: Pillow 9 clips 16-bit greyscale to 255 in
//     convert("RGB"); imageio keeps the high byte there too.
//   - EXIF orientation (1-8) from JPEG APP1, PNG eXIf and WebP EXIF chunks is applied; a
//     malformed EXIF block is ignored.
//
// Known gaps: a GIF frame smaller than the logical screen is returned alone (Pillow pads it),
// and a GIF's transparent palette entry decodes black (Go's decoder discards its colour).
//
// # Preprocessing
//
// Preprocess.Into resizes with Pillow's BILINEAR filter (antialiased when downscaling), optionally
// after torchvision's Resize(shorter side) + CenterCrop geometry, and writes one item of a batch
// tensor in NCHW or NHWC as f32 ((pixel/255-mean)/std), u8 (pixel) or i8 (pixel-128).
//
// # Sidecar format
//
// LoadConfig reads the "preprocess" section of a model's JSON sidecar (conventionally
// <model>.json next to the model file); other top-level sections are ignored, unknown keys
// inside "preprocess" are errors:
//
//	{
//	  "preprocess": {
//	    "width": 224, "height": 224,            // required
//	    "resize": "shorter_crop",               // or "stretch"; default "shorter_crop"
//	    "resize_shorter": 256,                  // default max(width,height)*256/224
//	    "mean": [0.485, 0.456, 0.406],          // default 0
//	    "std":  [0.229, 0.224, 0.225],          // default 1
//	    "layout": "NCHW",                       // or "NHWC"; default "NCHW"
//	    "dtype": "f32"                          // or "u8", "i8"; default "f32"
//	  }
//	}
//
// (JSON has no comments; they are annotations here.)
package imageio
