/** Block building shared by the leader and the validators (docs/blocks.md). */
export * from "./build";
export * from "./decode";
export * from "./entries";
export * from "./forced";
export * from "./leaf-data";
export * from "./raw-root";
export * from "./open-slot";
