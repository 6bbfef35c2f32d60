import { getCollection } from 'astro:content';

// The docs' draft filter: drafts are built by `astro dev`, not by `astro build`.
export async function publishedPosts() {
	return getCollection('blog', ({ data }) => (import.meta.env.PROD ? data.draft !== true : true));
}

// The starter links `/blog/${post.id}/`; below a base the link needs it too.
export function postUrl(id: string) {
	return `${import.meta.env.BASE_URL.replace(/\/$/, '')}/blog/${id}/`;
}
