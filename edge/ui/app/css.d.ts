// esbuild bundles CSS imports into app.css (edge/ui/dev-bundle.ts).
declare module '*.css'
