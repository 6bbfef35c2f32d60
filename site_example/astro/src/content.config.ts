// The blog starter's schema (examples/blog @ astro@5.18.2) plus the fields the Astro docs use in their
// examples (draft, tags) and page views for postkin's "most read" lists.
import { defineCollection, z } from 'astro:content';
import { glob } from 'astro/loaders';

const blog = defineCollection({
	loader: glob({ base: './src/content/blog', pattern: '**/*.{md,mdx}' }),
	schema: z.object({
		title: z.string(),
		description: z.string(),
		pubDate: z.coerce.date(),
		updatedDate: z.coerce.date().optional(),
		draft: z.boolean().optional(),
		tags: z.array(z.string()).optional(),
		views: z.number().optional(),
	}),
});

export const collections = { blog };
