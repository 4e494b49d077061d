//! Encoding a rendered page as the document's thumbnail.

use cairo::ImageSurface;

/// A PNG of an RGB24 cairo surface. Encoded with the `png` crate's fast deflate: a thumbnail is
/// made for every document, and libpng at its default level (cairo's `write_to_png`) spent
/// about a tenth of a text-layer PDF's whole processing time compressing it.
pub(crate) fn png_of(mut surface: ImageSurface) -> Option<Vec<u8>> {
    let width = usize::try_from(surface.width()).ok()?;
    let height = usize::try_from(surface.height()).ok()?;
    let stride = usize::try_from(surface.stride()).ok()?;
    let data = surface.data().ok()?;
    let mut rgb = Vec::with_capacity(width * height * 3);
    for row in data.chunks(stride).take(height) {
        for px in row.chunks_exact(4).take(width) {
            // RGB24 keeps each pixel in one native-endian u32, 0x00RRGGBB.
            let v = u32::from_ne_bytes([px[0], px[1], px[2], px[3]]);
            rgb.extend_from_slice(&[(v >> 16) as u8, (v >> 8) as u8, v as u8]);
        }
    }
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(
            &mut png,
            u32::try_from(width).ok()?,
            u32::try_from(height).ok()?,
        );
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().ok()?;
        writer.write_image_data(&rgb).ok()?;
    }
    Some(png)
}

#[cfg(test)]
mod tests {
    use cairo::{Context, Format};

    use super::*;

    #[test]
    fn a_thumbnail_keeps_each_pixels_colour_and_the_size() {
        let surface = ImageSurface::create(Format::Rgb24, 5, 3).unwrap();
        {
            let cr = Context::new(&surface).unwrap();
            cr.set_source_rgb(1.0, 1.0, 1.0);
            cr.paint().unwrap();
            cr.set_source_rgb(1.0, 0.0, 0.0);
            cr.rectangle(0.0, 0.0, 1.0, 1.0);
            cr.fill().unwrap();
            cr.set_source_rgb(0.0, 0.0, 1.0);
            cr.rectangle(4.0, 2.0, 1.0, 1.0);
            cr.fill().unwrap();
        }
        surface.flush();
        let png = png_of(surface).unwrap();
        let decoder = png::Decoder::new(png.as_slice());
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((info.width, info.height), (5, 3));
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(&pixels[0..3], &[255, 0, 0], "top left is red");
        assert_eq!(&pixels[3..6], &[255, 255, 255], "the page is white");
        assert_eq!(
            &pixels[(2 * 5 + 4) * 3..][..3],
            &[0, 0, 255],
            "bottom right is blue"
        );
    }
}
