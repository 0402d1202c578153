/** Labels of images as the page and the element name them. */

/**
 * An image's label: its own label, else the file name without folder and extension
 * ("pizza/0012.jpg" unlabelled gives "0012").
 */
export function labelOrStem(image: { readonly label: string; readonly name: string }): string {
  return image.label || image.name.replace(/^.*\//, '').replace(/\.[^.]*$/, '');
}
