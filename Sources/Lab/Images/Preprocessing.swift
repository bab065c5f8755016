import Kernels

// What VGG19 sees, as Keras's `vgg19.preprocess_input` ("caffe" mode) makes it:
// RGB → BGR, then the ImageNet means subtracted in BGR order. No scaling: 0–255 stays.
// Our layout is (C, H, W): channel 0 is blue.

/// ImageNet channel means in BGR order, as Keras has them.
public let imageNetMeanBGR: [Float] = [103.939, 116.779, 123.68]

public func preprocess(_ image: RGBImage) throws -> Tensor {
    let h = image.height, w = image.width, plane = h * w
    var data = [Float](repeating: 0, count: 3 * plane)
    for i in 0..<plane {
        // BGR channel c takes RGB channel 2 − c.
        for c in 0..<3 {
            data[c * plane + i] = Float(image.pixels[i * 3 + (2 - c)]) - imageNetMeanBGR[c]
        }
    }
    return try Tensor(shape: [3, h, w], data: data)
}

/// Keras's `deprocess_image`: add the means back, BGR → RGB, clip to 0…255, truncate to uint8.
public func deprocess(_ x: Tensor) throws -> RGBImage {
    guard x.rank == 3, x.shape[0] == 3 else {
        throw KernelError.shape("an image tensor is (3, H, W), got \(x.shape)")
    }
    let h = x.shape[1], w = x.shape[2], plane = h * w
    var pixels = [UInt8](repeating: 0, count: 3 * plane)
    for i in 0..<plane {
        for c in 0..<3 {
            let v = x.data[c * plane + i] + imageNetMeanBGR[c]  // Float arithmetic, as numpy float32
            // NaN becomes 0: a picture of a diverged run should still be writable.
            let clipped = v.isNaN ? 0 : min(255, max(0, v))
            pixels[i * 3 + (2 - c)] = UInt8(clipped)  // truncation, as astype("uint8")
        }
    }
    return RGBImage(width: w, height: h, pixels: pixels)
}

/// The Keras example's working size: 400 rows (or `rows`), columns = int(width · rows / height).
public func kerasTargetSize(width: Int, height: Int, rows: Int = 400) -> (width: Int, height: Int) {
    (max(1, Int(Double(width) * Double(rows) / Double(height))), rows)
}
