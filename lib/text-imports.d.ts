// Files bundled as text (`import x from "file" with { type: "text" }`): Bun hands over their
// contents as a string; TypeScript needs to be told.
declare module "*.service" {
  const text: string;
  export default text;
}
