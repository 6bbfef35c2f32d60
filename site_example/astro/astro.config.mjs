// @ts-check
// postkin's Astro example ("Field Notes"): the blog starter's layout (collection `blog`, route
// src/pages/blog/[...slug].astro) served below `base`. postkin writes src/data/postkin/ before each build
// (make example-astro, or `postkin build --watch` beside `astro dev`).
import { defineConfig } from 'astro/config';

export default defineConfig({
	site: 'https://example.com',
	base: '/field-notes',
});
