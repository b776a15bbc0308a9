// kernel_info_reply content: real versions, read from the installed packages.
import { PACKAGE_VERSION } from "./package_root";
import { PROTOCOL_VERSION } from "./wire";

function versionOf(pkg: string): string {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export const KERNEL_NAME = "tscolab";
export const DISPLAY_NAME = "TypeScript (tscolab)";

export function kernelInfo() {
  const typescript = versionOf("@tslab/typescript-for-tslab");
  return {
    status: "ok",
    protocol_version: PROTOCOL_VERSION,
    implementation: "tscolab",
    implementation_version: PACKAGE_VERSION,
    language_info: {
      name: "typescript",
      version: typescript,
      mimetype: "text/typescript",
      file_extension: ".ts",
      pygments_lexer: "typescript",
      codemirror_mode: { name: "javascript", typescript: true },
      nbconvert_exporter: "script",
    },
    banner: `tscolab ${PACKAGE_VERSION} — TypeScript ${typescript} on Node ${process.versions.node} (tslab ${versionOf("tslab")}). Magics: %lsmagic`,
    help_links: [{ text: "tscolab magics", url: "https://www.npmjs.com/package/tscolab" }],
    debugger: false,
  };
}
